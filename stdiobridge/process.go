package stdiobridge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"
)

// process is one running stdio server: its pipes, its read loops and its
// exit. It knows nothing of JSON-RPC beyond line framing.
type process struct {
	cmd    *exec.Cmd
	pid    int
	stdin  *os.File
	wmu    sync.Mutex
	log    *slog.Logger
	exited chan struct{} // closed once the process has exited and been reaped
	err    error         // exit status; read after exited is closed

	stopOnce sync.Once
	stopping chan struct{} // closed when stop was asked for
}

// processHooks are called from the process's read loop; they must not block.
type processHooks struct {
	line func([]byte) // one line of stdout, without the newline
	exit func(error)  // after the process was reaped and its stdout drained
}

// startProcess starts cmd with its own process group, its stdin and stdout as
// pipes and its stderr drained into log, line by line.
func startProcess(c *Command, maxLine int, log *slog.Logger, hooks processHooks) (*process, error) {
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(cmd.Environ(), c.Env...)
	}
	cmd.SysProcAttr = sysProcAttr()

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	err = cmd.Start()
	// The child has its own copies of these ends now.
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("stdiobridge: start %s: %w", c.Path, err)
	}
	p := &process{
		cmd:      cmd,
		pid:      cmd.Process.Pid,
		stdin:    inW,
		log:      log.With("pid", cmd.Process.Pid),
		exited:   make(chan struct{}),
		stopping: make(chan struct{}),
	}
	stdoutDone := make(chan struct{})
	go func() {
		defer close(stdoutDone)
		p.readStdout(outR, maxLine, hooks.line)
	}()
	go p.drainStderr(errR)
	go func() {
		werr := cmd.Wait()
		// Whatever the server left behind in its group goes with it, which
		// also closes the stdout pipe that a grandchild might hold open.
		killGroup(p.pid, true)
		p.err = werr
		close(p.exited)
		inW.Close()
		select {
		case <-stdoutDone:
		case <-time.After(2 * time.Second):
			outR.Close() // a process outside the group still holds stdout
			<-stdoutDone
		}
		outR.Close()
		hooks.exit(werr)
	}()
	return p, nil
}

// write sends one framed message (ending in a newline) to the server's stdin.
// It fails when the write did not finish by deadline (a zero deadline means
// none) or the server is gone.
func (p *process) write(b []byte, deadline time.Time) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	select {
	case <-p.exited:
		return errExited
	default:
	}
	_ = p.stdin.SetWriteDeadline(deadline)
	_, err := p.stdin.Write(b)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return errors.New("the stdio server does not read its input")
		}
		return errExited
	}
	return nil
}

var errExited = errors.New("the stdio server has exited")

// readStdout splits stdout into lines of any length (up to maxLine bytes when
// maxLine > 0) and hands each to fn.
func (p *process) readStdout(r io.Reader, maxLine int, fn func([]byte)) {
	br := bufio.NewReaderSize(r, 8<<10) // longer lines grow a buffer of their own
	for {
		b, err := readLine(br, maxLine)
		if len(b) > 0 {
			fn(b)
		}
		if errors.Is(err, errLineTooLong) {
			p.log.Error("stdio server wrote a message over the size limit; dropped it", "limit", maxLine)
			continue
		}
		if err != nil {
			return
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its newline (and carriage return) as a new
// slice. Past maxLine bytes (when > 0) it discards the rest of the line and
// returns errLineTooLong.
func readLine(br *bufio.Reader, maxLine int) ([]byte, error) {
	frag, err := br.ReadSlice('\n')
	if err == nil {
		return bytes.Clone(trimEOL(frag)), nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return bytes.Clone(trimEOL(frag)), err
	}
	buf := make([]byte, 0, 2*len(frag))
	buf = append(buf, frag...)
	for {
		frag, err = br.ReadSlice('\n')
		if maxLine > 0 && len(buf)+len(frag) > maxLine {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil {
				return nil, err
			}
			return nil, errLineTooLong
		}
		buf = append(buf, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return trimEOL(buf), err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// maxStderrLine caps one logged line of the server's stderr.
const maxStderrLine = 4 << 10

// drainStderr logs the server's stderr line by line so that a chatty server
// never blocks on a full pipe.
func (p *process) drainStderr(r *os.File) {
	defer r.Close()
	br := bufio.NewReaderSize(r, maxStderrLine)
	for {
		frag, err := br.ReadSlice('\n')
		truncated := errors.Is(err, bufio.ErrBufferFull)
		if msg := bytes.TrimSpace(frag); len(msg) > 0 {
			p.log.Info("stdio server stderr", "line", string(msg), "truncated", truncated)
		}
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err != nil {
			return
		}
	}
}

// stop ends the process the way the MCP stdio transport asks: close its
// input, wait up to grace for it to exit, then SIGTERM its process group, wait
// up to grace again, then SIGKILL the group. It returns once the process was
// reaped.
func (p *process) stop(grace time.Duration) {
	p.stopOnce.Do(func() {
		close(p.stopping)
		p.wmu.Lock()
		p.stdin.Close()
		p.wmu.Unlock()
	})
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exited:
		return
	case <-t.C:
	}
	p.log.Debug("stdio server still running after its input closed; sending SIGTERM")
	killGroup(p.pid, false)
	t.Reset(grace)
	select {
	case <-p.exited:
		return
	case <-t.C:
	}
	p.log.Warn("stdio server ignored SIGTERM; sending SIGKILL", "grace", grace)
	killGroup(p.pid, true)
	<-p.exited
}

// isStopping reports whether stop was called: an exit after it is expected.
func (p *process) isStopping() bool {
	select {
	case <-p.stopping:
		return true
	default:
		return false
	}
}
