package mcpserver

import "time"

// workerIdle is how long an idle worker waits for the next call.
const workerIdle = 30 * time.Second

// workers runs calls on goroutines that outlive them. A fresh goroutine
// starts with a small stack that decoding and handling a message must grow,
// copying it on the way; a worker that already ran a call has the stack it
// needs.
type workers struct {
	jobs chan func()
	quit chan struct{}
}

func newWorkers() *workers {
	return &workers{jobs: make(chan func()), quit: make(chan struct{})}
}

// run runs f on an idle worker, or on a new one when none is idle.
func (w *workers) run(f func()) {
	select {
	case w.jobs <- f:
	default:
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		f = nil
		idle.Reset(workerIdle)
		select {
		case f = <-w.jobs:
		case <-idle.C:
			return
		case <-w.quit:
			return
		}
	}
}

// stop lets idle workers go; calls still running finish.
func (w *workers) stop() { close(w.quit) }
