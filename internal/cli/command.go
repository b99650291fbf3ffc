package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"strconv"
	"strings"
	"time"
)

// Command is one binary's command line: its settings and, after Parse,
// their values. Build it with New and the setting methods (String, Bool,
// Port, ...), each of which returns a pointer the value lands in; then
// call Parse once.
type Command struct {
	name, summary string
	argsUsage     string // non-empty: positional arguments are accepted
	notes         []string
	settings      []*setting
	byName        map[string]*setting // by name, by short alias and by file flag
	vars          map[string]bool     // every setting's variables
	fileVars      map[string]bool     // the secrets' NAME_FILE variables
	args          []string
}

// setting is one row of the table.
type setting struct {
	flag        string   // without dashes; "" for a setting read only from the environment
	short       string   // a one-letter alias of flag ("" for none), as -c for --command
	env         []string // variables, in order of precedence
	usage       string
	placeholder string // the value's name in --help ("" for booleans)
	def         string // the default as --help shows it ("" shows none)
	kind        string // "bool", "duration", "size", "list", "repeat": the syntaxes --help explains
	secret      bool
	fileFlag    string             // a secret's flag naming a file that holds the value ("" for none)
	filePath    string             // the file fileFlag gave, during Parse
	parse       func(string) error // parses a value and stores it
	raw, source string             // the value and where it came from, after Parse
}

// name is the setting's key for Given, Source and Bad: its flag, or its
// first variable when it has no flag.
func (s *setting) name() string {
	if s.flag != "" {
		return s.flag
	}
	return s.env[0]
}

// New returns a Command for the binary name; summary is the paragraph
// --help prints under the usage line.
func New(name, summary string) *Command {
	return &Command{name: name, summary: summary, byName: map[string]*setting{}, vars: map[string]bool{}, fileVars: map[string]bool{}}
}

// Name is the binary's name.
func (c *Command) Name() string { return c.name }

// AcceptArgs lets the command take positional arguments after its flags
// (or after "--"); usage describes them in --help, for example
// "[--] server_command [args...]". Without it a stray argument is a usage
// error.
func (c *Command) AcceptArgs(usage string) { c.argsUsage = usage }

// Note adds a paragraph to the end of --help.
func (c *Command) Note(text string) { c.notes = append(c.notes, text) }

// Args are the positional arguments, after Parse.
func (c *Command) Args() []string { return c.args }

// add registers a setting. A programming error (a duplicate name, a
// setting with neither flag nor variable) panics: it is found by the
// first run of the binary's tests, never by a user.
func (c *Command) add(s *setting) {
	if s.flag == "" && len(s.env) == 0 {
		panic("cli: a setting needs a flag or an environment variable")
	}
	if _, dup := c.byName[s.name()]; dup {
		panic("cli: setting " + s.name() + " registered twice")
	}
	for _, v := range s.env {
		if c.fileVars[v] {
			panic("cli: variable " + v + " is a secret's file variable")
		}
		c.vars[v] = true
	}
	for _, v := range s.fileVars() {
		if c.vars[v] || c.fileVars[v] {
			panic("cli: a secret's file variable " + v + " is registered already")
		}
		c.fileVars[v] = true
	}
	if i := strings.Index(s.usage, "`"); i >= 0 {
		if j := strings.Index(s.usage[i+1:], "`"); j >= 0 {
			s.placeholder = s.usage[i+1 : i+1+j]
			s.usage = s.usage[:i] + s.placeholder + s.usage[i+1+j+1:]
		}
	}
	c.settings = append(c.settings, s)
	c.byName[s.name()] = s
}

// Short gives the flag flagName a one-letter alias (Short("c", "command")
// for -c); --help lists it as "-c, --command".
func (c *Command) Short(short, flagName string) {
	s := c.lookup(flagName)
	if len(short) != 1 || s.flag == "" || s.short != "" {
		panic("cli: bad short name " + short + " for " + flagName)
	}
	if _, dup := c.byName[short]; dup {
		panic("cli: short name " + short + " registered twice")
	}
	s.short = short
	c.byName[short] = s
}

// String registers a string setting. A `quoted` word in usage names the
// value in --help (as in package flag).
func (c *Command) String(flagName, def, usage string, env ...string) *string {
	p := new(string)
	*p = def
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: "VALUE", def: def,
		parse: func(v string) error { *p = v; return nil }})
	return p
}

// Secret registers a string setting whose value --help and error messages
// never show, such as a client secret. It is usually read only from the
// environment (flagName ""), since command lines are visible to other
// users of the machine. Each variable NAME has NAME_FILE, and a flag
// --FLAG-file, naming a file that holds the value instead (see
// MaxSecretFile for the rules).
func (c *Command) Secret(flagName, usage string, env ...string) *string {
	p := new(string)
	s := &setting{flag: flagName, env: env, usage: usage, placeholder: "SECRET", secret: true,
		parse: func(v string) error { *p = v; return nil }}
	c.add(s)
	if flagName != "" {
		c.addFileFlag(s, flagName+"-file")
	}
	return p
}

// Bool registers a boolean setting. On the command line the flag alone
// means true; --flag=false turns it off.
func (c *Command) Bool(flagName string, def bool, usage string, env ...string) *bool {
	p := new(bool)
	*p = def
	c.add(&setting{flag: flagName, env: env, usage: usage, def: strconv.FormatBool(def), kind: "bool",
		parse: func(v string) (err error) { *p, err = ParseBool(v); return err }})
	return p
}

// Int registers a whole number from min to max (math.MaxInt: no upper
// bound).
func (c *Command) Int(flagName string, def, min, max int, usage string, env ...string) *int {
	p := new(int)
	*p = def
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: "N", def: strconv.Itoa(def),
		parse: func(v string) (err error) { *p, err = parseInt(v, min, max); return err }})
	return p
}

// Port registers a TCP port, 0 to 65535.
func (c *Command) Port(flagName string, def int, usage string, env ...string) *int {
	p := new(int)
	*p = def
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: "PORT", def: strconv.Itoa(def),
		parse: func(v string) (err error) { *p, err = parsePort(v); return err }})
	return p
}

// Duration registers a positive duration, in seconds or with a unit. A
// zero def shows no default in --help (the usage should say what its
// absence means).
func (c *Command) Duration(flagName string, def time.Duration, usage string, env ...string) *time.Duration {
	return c.duration(flagName, def, false, usage, env)
}

// DurationOrZero is Duration where 0 is a value too (usage says what it
// means, such as "0: never").
func (c *Command) DurationOrZero(flagName string, def time.Duration, usage string, env ...string) *time.Duration {
	return c.duration(flagName, def, true, usage, env)
}

func (c *Command) duration(flagName string, def time.Duration, zero bool, usage string, env []string) *time.Duration {
	p := new(time.Duration)
	*p = def
	shown := ""
	if def != 0 || zero {
		shown = formatDuration(def)
	}
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: "DURATION", def: shown, kind: "duration",
		parse: func(v string) (err error) { *p, err = ParseDuration(v, zero); return err }})
	return p
}

// Size registers a positive byte count (10485760, 10MiB, 512KB).
func (c *Command) Size(flagName string, def int64, usage string, env ...string) *int64 {
	p := new(int64)
	*p = def
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: "SIZE", def: formatSize(def), kind: "size",
		parse: func(v string) (err error) { *p, err = ParseSize(v); return err }})
	return p
}

// List registers a list of strings (comma-separated, or a JSON array).
func (c *Command) List(flagName string, def []string, usage string, env ...string) *[]string {
	p := new([]string)
	*p = def
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: "LIST", def: strings.Join(def, ","), kind: "list",
		parse: func(v string) (err error) { *p, err = ParseList(v); return err }})
	return p
}

// Repeated registers a flag that may be given several times, each giving
// one value (a header, say); a variable, when set and no flag is, gives
// one value per line.
func (c *Command) Repeated(flagName, usage string, env ...string) *[]string {
	p := new([]string)
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: "VALUE", kind: "repeat",
		parse: func(v string) error { *p = append(*p, v); return nil }})
	return p
}

// Enum registers one of choices, matched in any case; the value stored is
// the choice as spelled in choices.
func (c *Command) Enum(flagName, def string, choices []string, usage string, env ...string) *string {
	p := new(string)
	*p = def
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: strings.Join(choices, "|"), def: def,
		parse: func(v string) (err error) { *p, err = parseEnum(v, choices); return err }})
	return p
}

// URL registers an absolute URL with one of schemes ("https", "redis",
// ...) and a host (a unix:// URL has a path instead). Zero: "".
func (c *Command) URL(flagName, def string, schemes []string, usage string, env ...string) *string {
	p := new(string)
	*p = def
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: "URL", def: def,
		parse: func(v string) (err error) { *p, err = parseURL(v, schemes); return err }})
	return p
}

// LogLevel registers a log level: debug, info, warning (warn) or error.
func (c *Command) LogLevel(flagName string, def slog.Level, usage string, env ...string) *slog.Level {
	p := new(slog.Level)
	*p = def
	c.add(&setting{flag: flagName, env: env, usage: usage, placeholder: "LEVEL", def: formatLevel(def),
		parse: func(v string) (err error) { *p, err = ParseLogLevel(v); return err }})
	return p
}

// flagValue is a setting seen by package flag, or with file its file flag.
// Set keeps the first error so that Parse can report it in the package's
// own words.
type flagValue struct {
	s    *setting
	err  *error
	file bool
}

func (v flagValue) String() string { return "" }
func (v flagValue) IsBoolFlag() bool {
	return v.s != nil && v.s.kind == "bool" && !v.file
}

func (v flagValue) Set(raw string) error {
	if v.file {
		// Read once the whole command line is known: with the value's own
		// flag given too, neither is used.
		if v.s.filePath = strings.TrimSpace(raw); v.s.filePath == "" {
			err := errors.New("want the path of a file")
			if *v.err == nil {
				*v.err = v.s.fileBad("--"+v.s.fileFlag, err)
			}
			return err
		}
		return nil
	}
	v.s.raw, v.s.source = strings.TrimSpace(raw), "--"+v.s.flag
	if err := v.s.parse(v.s.raw); err != nil {
		if *v.err == nil {
			*v.err = v.s.bad(err)
		}
		return err
	}
	return nil
}

// bad is a SettingError for the setting's current value.
func (s *setting) bad(err error) *SettingError {
	return &SettingError{Flag: s.flag, Env: s.env, Value: s.raw, Secret: s.secret, Source: s.source, Err: err}
}

// Parse reads args (without the program name) and, for every setting not
// given as a flag, the environment through getenv: the first of its
// variables that is set and not blank (for a secret, the variable or the
// file its NAME_FILE names). Surrounding space is ignored. It
// writes the help text to help and returns ErrHelp for --help or -h; it
// returns a *SettingError for a bad value and a *UsageError for an
// unknown flag or a stray argument. Call it once per Command.
func (c *Command) Parse(args []string, getenv func(string) string, help io.Writer) error {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var setErr error
	for _, s := range c.settings {
		if s.flag != "" {
			fs.Var(flagValue{s: s, err: &setErr}, s.flag, s.usage)
		}
		if s.short != "" {
			fs.Var(flagValue{s: s, err: &setErr}, s.short, s.usage)
		}
		if s.fileFlag != "" {
			fs.Var(flagValue{s: s, err: &setErr, file: true}, s.fileFlag, s.usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			c.WriteHelp(help)
			return ErrHelp
		case setErr != nil:
			return setErr
		}
		return c.flagError(err)
	}
	c.args = fs.Args()
	if err := c.boolWithSpace(args); err != nil {
		return err
	}
	if len(c.args) > 0 && c.argsUsage == "" {
		return Usagef("unexpected argument %q (%s takes flags only; see --help)", c.args[0], c.name)
	}
	for _, s := range c.settings {
		if s.filePath != "" {
			if s.source != "" {
				return Usagef("%s and --%s are both given: use one", s.source, s.fileFlag)
			}
			v, err := readSecretFile(s.filePath)
			if err != nil {
				return s.fileBad("--"+s.fileFlag, err)
			}
			s.raw, s.source = v, "--"+s.fileFlag
			if err := s.parse(v); err != nil {
				return s.bad(err)
			}
		}
		if s.source != "" {
			continue
		}
		for i, name := range s.env {
			v, source := strings.TrimSpace(getenv(name)), name
			if s.secret {
				fileVar := s.fileVars()[i]
				path := strings.TrimSpace(getenv(fileVar))
				switch {
				case path != "" && v != "":
					return Usagef("%s and %s are both set: use one", name, fileVar)
				case path != "":
					var err error
					if v, err = readSecretFile(path); err != nil {
						return s.fileBad(fileVar, err)
					}
					source = fileVar
				}
			}
			if v != "" {
				s.raw, s.source = v, source
				values := []string{v}
				if s.kind == "repeat" {
					values = strings.Split(v, "\n")
				}
				for _, v := range values {
					if v = strings.TrimSpace(v); v == "" {
						continue
					}
					if err := s.parse(v); err != nil {
						return s.bad(err)
					}
				}
				break
			}
		}
	}
	return nil
}

// boolWithSpace refuses "--debug false": package flag takes a boolean
// flag alone as true and "false" as the first positional argument, the
// opposite of what was meant.
func (c *Command) boolWithSpace(args []string) error {
	i := len(args) - len(c.args)
	if len(c.args) == 0 || i == 0 {
		return nil
	}
	prev := args[i-1]
	s := c.byName[strings.TrimLeft(prev, "-")]
	if s == nil || s.kind != "bool" || s.flag == "" || strings.Contains(prev, "=") || !strings.HasPrefix(prev, "-") {
		return nil
	}
	if _, err := ParseBool(c.args[0]); err != nil {
		return nil
	}
	return Usagef("%s %s: a boolean flag takes its value after =, as in --%s=%s", prev, c.args[0], s.flag, c.args[0])
}

// flagError words package flag's errors about the command line itself.
func (c *Command) flagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return Usagef("unknown flag --%s (see %s --help)", strings.TrimLeft(name, "-"), c.name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return Usagef("--%s needs a value (see %s --help)", strings.TrimLeft(name, "-"), c.name)
	}
	return Usagef("%s (see %s --help)", msg, c.name)
}

func (c *Command) lookup(name string) *setting {
	s := c.byName[name]
	if s == nil {
		panic("cli: no setting " + name)
	}
	return s
}

// Given reports whether the setting (by flag name, or variable for one
// without a flag) was set on the command line or in the environment, or
// read from a secret's file.
func (c *Command) Given(name string) bool { return c.lookup(name).source != "" }

// Source is where the setting's value came from: "--flag", the variable's
// name (a secret's NAME_FILE, or "--" and its file flag, for one read from
// a file), or "" for the default.
func (c *Command) Source(name string) string { return c.lookup(name).source }

// Raw is the setting's value as given (trimmed), or "" when it was not.
func (c *Command) Raw(name string) string { return c.lookup(name).raw }

// Bad returns a SettingError for the setting's current value: for checks
// Parse cannot make alone (a value against another, a library's verdict).
func (c *Command) Bad(name string, err error) error {
	s := c.lookup(name)
	e := s.bad(err)
	if e.Source == "" {
		e.Value = s.def
	}
	return e
}

// Names is the setting's "--flag / VAR" for messages.
func (c *Command) Names(name string) string {
	s := c.lookup(name)
	return settingNames(s.flag, s.env)
}

// WriteHelp writes the usage line, the summary, every flag with its
// variables and default, the settings read only from the environment and
// the value syntaxes used.
func (c *Command) WriteHelp(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s [flags]", c.name)
	if c.argsUsage != "" {
		b.WriteString(" " + c.argsUsage)
	}
	b.WriteString("\n\n")
	if c.summary != "" {
		b.WriteString(wrap(c.summary, 0) + "\n\n")
	}
	b.WriteString("Flags, each with the environment variables that may set it instead (the first one\n" +
		"set is used; a flag on the command line wins over them):\n")
	kinds := map[string]bool{}
	secrets := false
	var envOnly []*setting
	for _, s := range c.settings {
		kinds[s.kind] = true
		secrets = secrets || s.secret
		if s.flag == "" {
			envOnly = append(envOnly, s)
			writeFileFlag(&b, s)
			continue
		}
		line := "  --" + s.flag
		if s.short != "" {
			line = "  -" + s.short + ", --" + s.flag
		}
		if s.placeholder != "" && s.kind != "bool" {
			line += " " + s.placeholder
		}
		b.WriteString(line + "\n")
		writeUsage(&b, s)
		writeFileFlag(&b, s)
	}
	if len(envOnly) > 0 {
		b.WriteString("\nRead only from the environment:\n")
		for _, s := range envOnly {
			line := "  " + strings.Join(s.env, ", ")
			if s.secret {
				files := s.fileVars()
				if s.fileFlag != "" {
					files = append(files, "--"+s.fileFlag)
				}
				line += " (or " + strings.Join(files, ", ") + ": a file holding it)"
			}
			b.WriteString(line + "\n")
			writeUsage(&b, s)
		}
	}
	var syntax []string
	if kinds["bool"] {
		syntax = append(syntax, "Booleans are true or false, 1 or 0, yes or no, on or off, in any case; a boolean flag alone means true.")
	}
	if kinds["list"] {
		syntax = append(syntax, "Lists are comma-separated, or a JSON array of strings.")
	}
	if kinds["duration"] {
		syntax = append(syntax, "Durations are seconds (30, 2.5) or a number with a unit (500ms, 45s, 2m, 1h).")
	}
	if kinds["repeat"] {
		syntax = append(syntax, "A flag marked repeatable may be given several times.")
	}
	if kinds["size"] {
		syntax = append(syntax, "Sizes are bytes (10485760) or a number with KB, MB, GB, KiB, MiB or GiB.")
	}
	if secrets {
		syntax = append(syntax, "A secret's variable NAME has NAME_FILE (and its flag --FLAG-file) naming a file that holds "+
			"the value instead, as Docker and Kubernetes mount secrets: surrounding whitespace is dropped, the file may not be "+
			"empty or larger than "+formatSize(MaxSecretFile)+", and NAME with NAME_FILE is an error.")
	}
	if len(syntax) > 0 {
		b.WriteString("\n" + wrap(strings.Join(syntax, " "), 0) + "\n")
	}
	for _, n := range c.notes {
		b.WriteString("\n" + wrap(n, 0) + "\n")
	}
	b.WriteString("\nA bad value exits with status 2.\n")
	io.WriteString(w, b.String())
}

// writeUsage writes a setting's usage, variables and default, indented.
func writeUsage(b *strings.Builder, s *setting) {
	text := s.usage
	if s.kind == "repeat" {
		text += " (repeatable)"
	}
	if s.flag != "" && len(s.env) > 0 {
		text += " [" + strings.Join(s.env, ", ") + "]"
	}
	if s.def != "" && !s.secret {
		text += " (default " + s.def + ")"
	}
	b.WriteString(wrap(text, 8) + "\n")
}

// writeFileFlag writes the entry of a secret's file flag, if it has one.
func writeFileFlag(b *strings.Builder, s *setting) {
	if s.fileFlag == "" {
		return
	}
	of := "--" + s.flag
	if s.flag == "" {
		of = s.env[0]
	}
	b.WriteString("  --" + s.fileFlag + " FILE\n")
	text := "a FILE holding the value of " + of
	if vars := s.fileVars(); len(vars) > 0 {
		text += " [" + strings.Join(vars, ", ") + "]"
	}
	b.WriteString(wrap(text, 8) + "\n")
}

// wrap fills text to 100 columns with indent spaces before each line.
func wrap(text string, indent int) string {
	const width = 100
	pad := strings.Repeat(" ", indent)
	var lines []string
	line := pad
	for _, word := range strings.Fields(text) {
		if len(line) > indent && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = pad
		}
		if len(line) > indent {
			line += " "
		}
		line += word
	}
	return strings.Join(append(lines, line), "\n")
}
