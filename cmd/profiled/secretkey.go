package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/profiled/profiled/internal/db"
)

// secretKeyFlags are the key-encryption key settings every command that
// opens the store takes (see db.Sealer).
type secretKeyFlags struct {
	file, previousFile *string
}

func addSecretKeyFlags(fs *flag.FlagSet) secretKeyFlags {
	return secretKeyFlags{
		file: fs.String("secret-key-file", os.Getenv("PROFILED_SECRET_KEY_FILE"),
			"file holding the key-encryption key that seals the store's secrets (32 bytes, base64 or hex); default: $PROFILED_SECRET_KEY, else (SQLite) STORE.secret-key, generated on first start"),
		previousFile: fs.String("previous-secret-key-file", os.Getenv("PROFILED_PREVIOUS_SECRET_KEY_FILE"),
			"the key-encryption key being rotated out (default $PROFILED_PREVIOUS_SECRET_KEY): secrets sealed with it are sealed again with the current key at start"),
	}
}

// parseKey reads a key-encryption key: 32 bytes as base64 (standard or
// URL alphabet, padded or not) or hex. Errors never quote the text.
func parseKey(text, from string) ([]byte, error) {
	s := strings.TrimSpace(text)
	for _, dec := range []func(string) ([]byte, error){
		hex.DecodeString, base64.StdEncoding.DecodeString, base64.RawStdEncoding.DecodeString,
		base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString,
	} {
		if b, err := dec(s); err == nil && len(b) == db.KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s: a key-encryption key is %d random bytes in base64 or hex (e.g. `openssl rand -base64 32`)", from, db.KeySize)
}

// keyPathFor is where a generated key lives: beside the SQLite store.
func keyPathFor(cfg db.Config) string {
	if cfg.Dialect != db.DialectSQLite || cfg.Memory {
		return ""
	}
	return cfg.Path + ".secret-key"
}

// loadSecretKeys returns the primary key, the previous ones and the file
// holding the primary key ("" when it came from the environment).
func loadSecretKeys(cfg db.Config, f secretKeyFlags, log *slog.Logger) (primary []byte, previous [][]byte, file string, err error) {
	if p := *f.previousFile; p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, "", fmt.Errorf("--previous-secret-key-file: %w", err)
		}
		k, err := parseKey(string(b), p)
		if err != nil {
			return nil, nil, "", err
		}
		previous = append(previous, k)
	}
	if v := os.Getenv("PROFILED_PREVIOUS_SECRET_KEY"); v != "" {
		k, err := parseKey(v, "PROFILED_PREVIOUS_SECRET_KEY")
		if err != nil {
			return nil, nil, "", err
		}
		previous = append(previous, k)
	}
	switch {
	case *f.file != "":
		b, err := os.ReadFile(*f.file)
		if err != nil {
			return nil, nil, "", fmt.Errorf("--secret-key-file: %w", err)
		}
		warnLoosePermissions(*f.file, log)
		k, err := parseKey(string(b), *f.file)
		return k, previous, *f.file, err
	case os.Getenv("PROFILED_SECRET_KEY") != "":
		k, err := parseKey(os.Getenv("PROFILED_SECRET_KEY"), "PROFILED_SECRET_KEY")
		return k, previous, "", err
	}
	path := keyPathFor(cfg)
	if path == "" {
		if cfg.Dialect == db.DialectSQLite {
			return nil, previous, "", nil // an in-memory store: nothing at rest
		}
		return nil, nil, "", errors.New("a MySQL store needs a key-encryption key to seal its secrets: set PROFILED_SECRET_KEY or --secret-key-file (32 random bytes in base64, e.g. `openssl rand -base64 32`)")
	}
	k, created, err := readOrCreateKeyFile(path)
	if err != nil {
		return nil, nil, "", err
	}
	if created {
		log.Warn("generated a key-encryption key for the store's secrets; back it up with the store, the secrets cannot be read without it",
			"file", path, "key_id", db.KeyID(k))
	} else {
		warnLoosePermissions(path, log)
	}
	return k, previous, path, nil
}

// readOrCreateKeyFile reads the key at path, or writes a new random one
// there (mode 0600) when there is none. Of two processes creating it at
// once, one wins and both use its key (the file appears whole, by link).
func readOrCreateKeyFile(path string) ([]byte, bool, error) {
	if b, err := os.ReadFile(path); err == nil {
		k, err := parseKey(string(b), path)
		return k, false, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	k := make([]byte, db.KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("creating the key-encryption key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, err
	}
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("writing the key-encryption key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return readOrCreateKeyFile(path)
		}
		return nil, false, fmt.Errorf("creating the key-encryption key file: %w", err)
	}
	return k, true, nil
}

func warnLoosePermissions(path string, log *slog.Logger) {
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("the key-encryption key file is readable by other users; chmod 600 it", "file", path)
	}
}

// openStore opens the service's store with its secrets sealed under the
// operator's key-encryption key (plain-text secrets found are sealed).
// keyFile is the file holding that key ("" when it came from the
// environment), which custom databases may never name.
func openStore(ctx context.Context, dbURL string, f secretKeyFlags, log *slog.Logger) (store *db.DB, keyFile string, err error) {
	cfg, err := db.ParseURL(dbURL)
	if err != nil {
		return nil, "", fmt.Errorf("open store %s: %w", redactURL(dbURL), err)
	}
	primary, previous, keyFile, err := loadSecretKeys(cfg, f, log)
	if err != nil {
		return nil, "", err
	}
	var opts []db.Option
	if primary != nil {
		sealer, err := db.NewSealer(primary, previous...)
		if err != nil {
			return nil, "", err
		}
		opts = append(opts, db.WithSealer(sealer))
	}
	store, err = db.OpenConfig(ctx, cfg, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("open store %s: %w", redactURL(dbURL), err)
	}
	if n := store.SealedAtOpen(); n > 0 {
		log.Info("sealed secrets found in plain text or under a previous key", "count", n, "key_id", db.KeyID(primary))
	}
	return store, keyFile, nil
}
