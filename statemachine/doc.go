// Package statemachine holds the project's Step Functions definitions
// (refund.asl.json, deployed by template.yaml with DefinitionSubstitutions
// and created in moto by the local stack from the same file) and their
// tests: the error names of every Retry and Catch against the typed errors
// the functions raise, and real executions in moto's ASL engine against
// the real function binaries, the Ottu sandbox and moto's DynamoDB.
package statemachine
