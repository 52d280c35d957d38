// Command tpl renders one docker-jitsi-meet template the way the release's containers do: Go's
// text/template with the sprig function map and the process environment as .Env. The containers
// run jitsi/tpl, which adds toBool, countRune and argument-reordered regex helpers to sprig; they
// are defined here too so every template of the release parses. A missing variable renders as
// Go's zero value (so `default` applies): the prosody template reads ENABLE_SUBDOMAINS, which
// compose never passes to that container, so the release's renderer must accept missing keys.
//
// Built by the tests from Debian's golang-go and golang-github-masterminds-sprig-dev packages:
// the same template engine and function library the containers use, not an imitation.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
)

func funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	// As jitsi/tpl's toBool (func.go, sprout version): a string that is not a boolean is true when it
	// is not empty. The prosody template relies on it: `.Env.JWT_APP_SECRET | default "false" | toBool`.
	f["toBool"] = func(value string) bool {
		cleaned := strings.NewReplacer(`"`, "", "'", "").Replace(value)
		if result, err := strconv.ParseBool(cleaned); err == nil {
			return result
		}
		return len(cleaned) > 0
	}
	f["countRune"] = func(s string) int { return len([]rune(s)) }
	replaceAll := f["regexReplaceAll"].(func(string, string, string) string)
	replaceAllLiteral := f["regexReplaceAllLiteral"].(func(string, string, string) string)
	split := f["regexSplit"].(func(string, string, int) []string)
	f["reReplaceAll"] = func(re, repl, s string) string { return replaceAll(re, s, repl) }
	f["reReplaceAllLiteral"] = func(re, repl, s string) string { return replaceAllLiteral(re, s, repl) }
	f["reSplit"] = func(re string, n int, s string) []string { return split(re, s, n) }
	return f
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tpl TEMPLATE")
		os.Exit(2)
	}
	source, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	env := map[string]interface{}{}
	for _, pair := range os.Environ() {
		if name, value, ok := strings.Cut(pair, "="); ok {
			env[name] = value
		}
	}
	t, err := template.New(os.Args[1]).Funcs(funcs()).Parse(string(source))
	if err == nil {
		err = t.Execute(os.Stdout, map[string]interface{}{"Env": env})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
