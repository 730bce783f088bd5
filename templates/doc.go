// Package templates holds custom-database scripts to start from: each
// folder is a complete script (package main, built to WebAssembly with the
// SDK, package sdk) for one kind of legacy user store, with the schema it
// expects and a test file.
//
//   - mysql: a plain users table (bcrypt hashes); the smallest complete
//     example of the seven actions.
//   - django: Django's auth_user (pbkdf2_sha256 and Django's other
//     hashers, verified natively by the host; login by email or user
//     name; is_active as blocked).
//   - wordpress: wp_users and wp_usermeta (phpass, WordPress 6.8's $wp$
//     bcrypt, plain bcrypt and very old MD5 hashes; new passwords written
//     as WordPress 6.8 writes them).
//
// Each folder holds main.go (its package comment lists the connection
// configuration keys it reads), schema.sql and script_test.json. Start a
// script of your own from one, in a folder of your repository:
//
//	profiled script init ./legacy-users --template django
//	profiled script test ./legacy-users --db mysql://root@127.0.0.1:3306/
//	profiled script build ./legacy-users -o legacy-users.wasm
//
// then upload the module with the setConnectionScript mutation. This
// package itself has no code; `go doc ./templates/mysql` (or django,
// wordpress) shows a template's documentation.
package templates
