package sdk

import "github.com/profiled/profiled/abi"

// Profile is what login, get_user and (optionally) create return: a user in
// the normalized shape of the service. UserID is required and must be
// stable: the same user gives the same id every time, from login and
// get_user alike (use the table's primary key).
type Profile struct {
	UserID        string
	Email         string
	EmailVerified bool
	Username      string
	PhoneNumber   string
	PhoneVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Nickname      string
	Picture       string
	// UserMetadata and AppMetadata seed the user's metadata when the
	// service first stores the user; values may be nil, bool, numbers,
	// string, []any, map[string]any, time.Time.
	UserMetadata map[string]any
	AppMetadata  map[string]any
	// Extra holds any other attribute; it becomes the identity's
	// profile_data. Keys that repeat a field above are ignored.
	Extra map[string]any
}

// Profile keys on the wire (the normalized profile's attribute names).
const (
	keyUserID        = "user_id"
	keyEmail         = "email"
	keyEmailVerified = "email_verified"
	keyUsername      = "username"
	keyPhoneNumber   = "phone_number"
	keyPhoneVerified = "phone_verified"
	keyName          = "name"
	keyGivenName     = "given_name"
	keyFamilyName    = "family_name"
	keyNickname      = "nickname"
	keyPicture       = "picture"
	keyUserMetadata  = "user_metadata"
	keyAppMetadata   = "app_metadata"
	keyPassword      = "password"
)

func isProfileKey(k string) bool {
	switch k {
	case keyUserID, "id", keyEmail, keyEmailVerified, keyUsername, keyPhoneNumber,
		keyPhoneVerified, keyName, keyGivenName, keyFamilyName, keyNickname,
		keyPicture, keyUserMetadata, keyAppMetadata:
		return true
	}
	return false
}

// encode appends p as one Map value.
func (p *Profile) encode(b []byte) ([]byte, error) {
	strs := [...]struct{ k, v string }{
		{keyUsername, p.Username}, {keyPhoneNumber, p.PhoneNumber}, {keyName, p.Name},
		{keyGivenName, p.GivenName}, {keyFamilyName, p.FamilyName},
		{keyNickname, p.Nickname}, {keyPicture, p.Picture},
	}
	n := 3 // user_id, email, email_verified
	for _, s := range strs {
		if s.v != "" {
			n++
		}
	}
	if p.PhoneVerified {
		n++
	}
	if p.UserMetadata != nil {
		n++
	}
	if p.AppMetadata != nil {
		n++
	}
	for k := range p.Extra {
		if !isProfileKey(k) {
			n++
		}
	}
	b = abi.AppendMap(b, n)
	b = abi.AppendString(abi.AppendKey(b, keyUserID), p.UserID)
	b = abi.AppendString(abi.AppendKey(b, keyEmail), p.Email)
	b = abi.AppendBool(abi.AppendKey(b, keyEmailVerified), p.EmailVerified)
	for _, s := range strs {
		if s.v != "" {
			b = abi.AppendString(abi.AppendKey(b, s.k), s.v)
		}
	}
	if p.PhoneVerified {
		b = abi.AppendBool(abi.AppendKey(b, keyPhoneVerified), true)
	}
	var err error
	if p.UserMetadata != nil {
		if b, err = abi.AppendValue(abi.AppendKey(b, keyUserMetadata), p.UserMetadata); err != nil {
			return b, err
		}
	}
	if p.AppMetadata != nil {
		if b, err = abi.AppendValue(abi.AppendKey(b, keyAppMetadata), p.AppMetadata); err != nil {
			return b, err
		}
	}
	for k, v := range p.Extra {
		if isProfileKey(k) {
			continue
		}
		if b, err = abi.AppendValue(abi.AppendKey(b, k), v); err != nil {
			return b, err
		}
	}
	return b, nil
}

// NewUser is the user create receives: what the signup or the admin gave.
// Password is in plain text: hash it (BcryptHash) before storing it.
type NewUser struct {
	Email         string
	Password      string
	Username      string
	PhoneNumber   string
	EmailVerified bool
	Name          string
	GivenName     string
	FamilyName    string
	Nickname      string
	Picture       string
	UserMetadata  map[string]any
	AppMetadata   map[string]any
	// Extra holds any other attribute the service passed.
	Extra map[string]any
}

func decodeNewUser(d *abi.Decoder) (NewUser, error) {
	var u NewUser
	n, err := d.Map()
	if err != nil {
		return u, err
	}
	for i := 0; i < n; i++ {
		k, err := d.Key()
		if err != nil {
			return u, err
		}
		v, err := d.Value()
		if err != nil {
			return u, err
		}
		s, _ := v.(string)
		switch k {
		case keyEmail:
			u.Email = s
		case keyPassword:
			u.Password = s
		case keyUsername:
			u.Username = s
		case keyPhoneNumber:
			u.PhoneNumber = s
		case keyEmailVerified:
			u.EmailVerified, _ = v.(bool)
		case keyName:
			u.Name = s
		case keyGivenName:
			u.GivenName = s
		case keyFamilyName:
			u.FamilyName = s
		case keyNickname:
			u.Nickname = s
		case keyPicture:
			u.Picture = s
		case keyUserMetadata:
			u.UserMetadata, _ = v.(map[string]any)
		case keyAppMetadata:
			u.AppMetadata, _ = v.(map[string]any)
		default:
			if u.Extra == nil {
				u.Extra = map[string]any{}
			}
			u.Extra[k] = v
		}
	}
	return u, nil
}
