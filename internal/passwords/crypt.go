package passwords

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strings"
)

// crypt(3) methods found under LDAP's {CRYPT} and in /etc/shadow-style
// exports: MD5-crypt ($1$, Poul-Henning Kamp's) and SHA-crypt ($5$
// SHA-256, $6$ SHA-512, Ulrich Drepper's specification). Both are
// verified by recomputing the whole string and comparing it in constant
// time.

// parseCrypt parses "$1$salt$hash", "$5$[rounds=N$]salt$hash" or
// "$6$[rounds=N$]salt$hash".
func parseCrypt(s, id string) (*parsed, error) {
	alg := map[string]string{"1": "md5-crypt", "5": "sha256-crypt", "6": "sha512-crypt"}[id]
	rest := s[3:]
	p := &parsed{kind: kCrypt, alg: alg, raw: s, iterations: 1000}
	if id != "1" {
		p.iterations = 5000
		if r, ok := strings.CutPrefix(rest, "rounds="); ok {
			n, after, found := strings.Cut(r, "$")
			if !found {
				return nil, malformed(alg, "rounds", "not followed by '$'")
			}
			v, err := paramNumber(alg, "rounds", n, "")
			if err != nil {
				return nil, err
			}
			// Drepper: values below 1000 are raised to 1000; the stored
			// string keeps what was written, so it is compared as is.
			if v > MaxShaCryptRounds {
				return nil, BoundOf("sha-crypt", "rounds").Check(alg, v)
			}
			p.iterations = max(int(v), 1000)
			p.cryptRounds = "rounds=" + n + "$"
			rest = after
		}
	}
	salt, h, ok := strings.Cut(rest, "$")
	if !ok {
		return nil, malformed(alg, "", "want $%s$salt$hash", id)
	}
	maxSalt, hashLen := 16, map[string]int{"1": 22, "5": 43, "6": 86}[id]
	if id == "1" {
		maxSalt = 8
	}
	if len(salt) > maxSalt || strings.ContainsAny(salt, "$:\n") {
		return nil, malformed(alg, "salt", "at most %d characters", maxSalt)
	}
	if len(h) != hashLen {
		return nil, malformed(alg, "hash", "%d characters, want %d", len(h), hashLen)
	}
	for i := 0; i < len(h); i++ {
		if strings.IndexByte(itoa64, h[i]) < 0 {
			return nil, malformed(alg, "hash", "characters outside crypt's base64")
		}
	}
	p.salt = []byte(salt)
	return p, nil
}

// cryptString recomputes the whole crypt string p stands for with pw.
func cryptString(p *parsed, pw []byte) string {
	switch p.alg {
	case "md5-crypt":
		return "$1$" + string(p.salt) + "$" + string(md5Crypt(pw, p.salt))
	case "sha256-crypt":
		return shaCryptPrefix("5", p) + string(shaCrypt(sha256.New, pw, p.salt, p.iterations))
	default:
		return shaCryptPrefix("6", p) + string(shaCrypt(sha512.New, pw, p.salt, p.iterations))
	}
}

func shaCryptPrefix(id string, p *parsed) string {
	return "$" + id + "$" + p.cryptRounds + string(p.salt) + "$"
}

// b64From24 appends n characters of crypt's base64 of the 24-bit value
// b2<<16|b1<<8|b0, least significant first.
func b64From24(out []byte, b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for ; n > 0; n-- {
		out = append(out, itoa64[w&0x3f])
		w >>= 6
	}
	return out
}

func md5Crypt(pw, salt []byte) []byte {
	const magic = "$1$"
	alt := md5.New()
	alt.Write(pw)
	alt.Write(salt)
	alt.Write(pw)
	altSum := alt.Sum(nil)

	ctx := md5.New()
	ctx.Write(pw)
	ctx.Write([]byte(magic))
	ctx.Write(salt)
	for n := len(pw); n > 0; n -= 16 {
		ctx.Write(altSum[:min(n, 16)])
	}
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(pw[:1])
		}
	}
	final := ctx.Sum(nil)
	for i := 0; i < 1000; i++ {
		c := md5.New()
		if i&1 != 0 {
			c.Write(pw)
		} else {
			c.Write(final)
		}
		if i%3 != 0 {
			c.Write(salt)
		}
		if i%7 != 0 {
			c.Write(pw)
		}
		if i&1 != 0 {
			c.Write(final)
		} else {
			c.Write(pw)
		}
		final = c.Sum(nil)
	}
	var out []byte
	for _, g := range [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		out = b64From24(out, final[g[0]], final[g[1]], final[g[2]], 4)
	}
	return b64From24(out, 0, 0, final[11], 2)
}

// repeatTo returns src repeated (and cut) to n bytes.
func repeatTo(src []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, src[:min(len(src), n-len(out))]...)
	}
	return out
}

func shaCrypt(newHash func() hash.Hash, pw, salt []byte, rounds int) []byte {
	b := newHash()
	b.Write(pw)
	b.Write(salt)
	b.Write(pw)
	bSum := b.Sum(nil)
	size := len(bSum)

	a := newHash()
	a.Write(pw)
	a.Write(salt)
	a.Write(repeatTo(bSum, len(pw)))
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(bSum)
		} else {
			a.Write(pw)
		}
	}
	aSum := a.Sum(nil)

	dp := newHash()
	for range len(pw) {
		dp.Write(pw)
	}
	p := repeatTo(dp.Sum(nil), len(pw))

	ds := newHash()
	for range 16 + int(aSum[0]) {
		ds.Write(salt)
	}
	s := repeatTo(ds.Sum(nil), len(salt))

	c := aSum
	for i := 0; i < rounds; i++ {
		h := newHash()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(nil)
	}

	var out []byte
	if size == sha256.Size {
		// Groups (i, i+10, i+20), rotated as Drepper's table gives them.
		for i := 0; i < 10; i++ {
			x, y, z := c[i], c[i+10], c[i+20]
			switch i % 3 {
			case 0:
				out = b64From24(out, x, y, z, 4)
			case 1:
				out = b64From24(out, z, x, y, 4)
			default:
				out = b64From24(out, y, z, x, 4)
			}
		}
		return b64From24(out, 0, c[31], c[30], 3)
	}
	for i := 0; i < 21; i++ {
		x, y, z := c[i], c[i+21], c[i+42]
		switch i % 3 {
		case 0:
			out = b64From24(out, x, y, z, 4)
		case 1:
			out = b64From24(out, y, z, x, 4)
		default:
			out = b64From24(out, z, x, y, 4)
		}
	}
	return b64From24(out, 0, 0, c[63], 2)
}
