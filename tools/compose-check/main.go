// compose-check loads compose files the way `docker compose config` does (compose-go:
// the Compose Specification's JSON schema, interpolation, normalization, consistency
// checks such as depends_on naming a real service) and prints each file's normalized
// model as one JSON object keyed by the file's path. Exit status 1 names the first
// problem found.
//
//	compose-check docker-compose.yml docker-compose.backends.yml
//
// Variables come from the process environment only (no .env file is read), so a check
// in a clean environment sees the defaults an operator who sets nothing gets.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func load(ctx context.Context, file string) (json.RawMessage, error) {
	options, err := cli.NewProjectOptions(
		[]string{file},
		cli.WithOsEnv,
		cli.WithConsistency(true),
		cli.WithNormalization(true),
		cli.WithResolvedPaths(false),
	)
	if err != nil {
		return nil, err
	}
	project, err := options.LoadProject(ctx)
	if err != nil {
		return nil, err
	}
	return project.MarshalJSON()
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE...")
		os.Exit(2)
	}
	models := map[string]json.RawMessage{}
	for _, file := range os.Args[1:] {
		model, err := load(context.Background(), file)
		if err != nil {
			fmt.Fprintf(os.Stderr, "compose-check: %s: %v\n", file, err)
			os.Exit(1)
		}
		models[file] = model
	}
	out, err := json.MarshalIndent(models, "", "  ")
	if err != nil {
		fmt.Fprintf(os.Stderr, "compose-check: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}
