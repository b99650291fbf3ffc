// Command checktool is the helper of deploy/check.sh, so that the check
// needs nothing but bash, curl, openssl, Go and the proxy:
//
//	checktool freeport [N]                    print N (1) distinct free TCP ports on 127.0.0.1
//	checktool json PATH < doc.json            print a value of a JSON document ("client_id", "authorization_servers.0")
//	checktool urlencode STRING                print STRING escaped for a URL query
//	checktool record -listen ADDR -to URL -log FILE
//	                                          a reverse proxy that appends one JSON line per request it
//	                                          receives (method, raw URI, Host, headers) to FILE, then
//	                                          passes the request on to URL: the "backend" whose log
//	                                          tells what reached the service through the proxy
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "freeport":
		n := 1
		if len(args) == 1 {
			if n, err = strconv.Atoi(args[0]); err != nil || n < 1 {
				usage()
			}
		}
		err = freePorts(n)
	case "json":
		if len(args) != 1 {
			usage()
		}
		err = jsonValue(os.Stdin, args[0])
	case "urlencode":
		if len(args) != 1 {
			usage()
		}
		fmt.Println(url.QueryEscape(args[0]))
	case "record":
		err = record(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "checktool:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: checktool freeport [N] | json PATH | urlencode STRING | record -listen ADDR -to URL -log FILE")
	os.Exit(2)
}

// freePorts prints n ports, holding each until all are chosen so that
// they differ.
func freePorts(n int) error {
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
	}
	return nil
}

// jsonValue prints the value at a dotted path: strings as they are, other
// values as JSON. A missing value is an error.
func jsonValue(r io.Reader, path string) error {
	var v any
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	for _, key := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = node[key]; !ok {
				return fmt.Errorf("no %q in the document", path)
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return fmt.Errorf("no %q in the document", path)
			}
			v = node[i]
		default:
			return fmt.Errorf("no %q in the document", path)
		}
	}
	if s, ok := v.(string); ok {
		fmt.Println(s)
		return nil
	}
	out, _ := json.Marshal(v)
	fmt.Println(string(out))
	return nil
}

// seen is one request as the backend received it.
type seen struct {
	Method  string      `json:"method"`
	URI     string      `json:"uri"`
	Host    string      `json:"host"`
	Headers http.Header `json:"headers"`
}

func record(args []string) error {
	fs := flag.NewFlagSet("record", flag.ExitOnError)
	listen := fs.String("listen", "", "address to listen on")
	to := fs.String("to", "", "URL of the service")
	logPath := fs.String("log", "", "file the requests are appended to")
	_ = fs.Parse(args)
	if *listen == "" || *to == "" || *logPath == "" {
		return errors.New("record needs -listen, -to and -log")
	}
	target, err := url.Parse(*to)
	if err != nil {
		return err
	}
	log, err := os.OpenFile(*logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				pr.Out.Header[h] = pr.In.Header[h] // as the proxy sent them
			}
		},
		FlushInterval: -1, // server-sent events
	}
	var mu sync.Mutex
	enc := json.NewEncoder(log)
	return http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		err := enc.Encode(seen{Method: r.Method, URI: r.RequestURI, Host: r.Host, Headers: r.Header})
		mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
}
