// Package apispec holds only tests: they check that template.yaml and
// openapi.yaml at the repository root are valid and describe the same
// routes, so the deployed API and its documentation cannot drift apart.
package apispec
