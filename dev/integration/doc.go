// Package integration holds only tests: each function as its composition
// root builds it (operation, inquiry, webhook, refund workflow), run against
// moto's server and the Ottu sandbox, plus the benchmarks of bench/*.sh.
package integration
