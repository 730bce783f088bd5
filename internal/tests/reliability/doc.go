// Package reliability holds Profiled's fault, concurrency, attack and limit
// tests: the ones that need their own infrastructure (a private MariaDB
// server they may kill and restart, a recording log sink, forged tokens).
// Everything here is test code; the package has no API.
//
// The tests drive the real HTTP handler (server.New over graph, service,
// policy, a real store and, for custom-database connections, the real
// sandbox running the MySQL template script). RELIABILITY.md at the
// repository root lists what each test proves and every figure measured
// here, with the command that reproduces it.
package reliability
