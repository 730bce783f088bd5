package service

// SetUserIDSource makes f the id source of new users until the returned
// func restores the real one.
func SetUserIDSource(f func() string) (restore func()) {
	old := newUserIDSource
	newUserIDSource = f
	return func() { newUserIDSource = old }
}
