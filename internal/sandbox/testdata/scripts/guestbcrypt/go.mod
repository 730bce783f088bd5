module guestbcrypt

go 1.24

require golang.org/x/crypto v0.58.0
