// Package cli is the command line every binary of the module shares, so
// that they all behave the same way:
//
//   - A table of settings, each a flag with the environment variables that
//     may set it instead (the Python originals' names): the first variable
//     set wins, a flag given on the command line wins over all of them.
//     Typed values with one syntax everywhere: booleans (true/false, 1/0,
//     yes/no, on/off, any case), whole numbers in a range, ports, durations
//     (seconds or 45s, 2m), sizes (10MiB), lists (comma-separated or a JSON
//     array), enums, URLs with given schemes, log levels; flags that may
//     be repeated (Repeated) and one-letter aliases (Short, as -c for
//     --command).
//   - Secrets (Secret) that --help and messages never show, each also read
//     from a file, as Docker and Kubernetes mount them: NAME_FILE for the
//     variable NAME, --FLAG-file for the flag (MaxSecretFile has the rules).
//   - --help (or -h) lists every flag with its variables and default and
//     exits 0; a bad value exits 2 with a message naming the flag and its
//     variables; an unknown flag or a stray argument exits 2.
//   - A listen address (--host, --port) that defaults to 127.0.0.1, whose
//     host is checked and resolved before anything starts, and that tells
//     whether the binary is exposed beyond loopback.
//   - Logging to stderr and, with --log-file / LOG_FILE, a file.
//   - Serving an http.Handler until SIGINT or SIGTERM, then a graceful
//     shutdown: requests in flight finish, long-lived streams are ended by
//     a hook, and a timeout bounds the wait.
//
// A binary:
//
//	func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
//		c := cli.New("mcp-example", "An example MCP server.")
//		addr := c.Listen(3000, "HOST", "PORT")
//		level := c.LogLevel("log-level", slog.LevelInfo, "log level: debug, info, warning or error", "LOG_LEVEL")
//		verbose := c.Bool("verbose", false, "say more", "EXAMPLE_VERBOSE")
//		if err := c.Parse(args, getenv, stdout); err != nil {
//			return cli.Exit(stderr, c.Name(), err) // 0 after --help, 2 for a bad setting
//		}
//		ctx, stop := cli.SignalContext(context.Background())
//		defer stop()
//		log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: *level}))
//		err := cli.ListenAndServe(ctx, addr, handler(*verbose), &cli.ServeOptions{Logger: log})
//		return cli.Exit(stderr, c.Name(), err)
//	}
package cli
