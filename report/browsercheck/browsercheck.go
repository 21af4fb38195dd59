// Package browsercheck opens a page frpt wrote in headless Chromium and reports what a
// reader would see go wrong: console errors and uncaught exceptions, images that did not
// decode, and any fetch that leaves the page's own folder (frpt's pages are self-contained:
// they load their PNGs from beside them and nothing from the network).
//
// It drives the browser through chromedp (the DevTools protocol), used by the tests of every
// package that writes HTML. Chromium comes from the Debian package chromium.
package browsercheck

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Report is what one page load showed.
type Report struct {
	ConsoleErrors []string // console.error/assert messages and uncaught exceptions
	BadImages     []string // <img> elements that finished loading without decoding
	Requests      []string // every URL the page asked for
	Foreign       []string // requests outside the page's folder (network or elsewhere on disk)
	Images        int      // <img> elements on the page
	Screenshot    []byte   // PNG of the whole page after the checks (and the click)
}

// Problems lists the report's faults, one line each (none for a good page).
func (r *Report) Problems() []string {
	var p []string
	for _, s := range r.ConsoleErrors {
		p = append(p, "console: "+s)
	}
	for _, s := range r.BadImages {
		p = append(p, "image did not decode: "+s)
	}
	for _, s := range r.Foreign {
		p = append(p, "fetch outside the page's folder: "+s)
	}
	return p
}

// Chromium returns the path of the Chromium binary, or an error saying it is not installed.
func Chromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH (Debian package chromium)")
}

// Check loads the HTML file at path in headless Chromium, waits until the page and its
// images have loaded (at most timeout) and, if click is a CSS selector, clicks the first
// element it matches and waits again (opening a row's panel, for instance).
func Check(ctx context.Context, path, click string, timeout time.Duration) (*Report, error) {
	bin, err := Chromium()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1400, 1000))
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	rep := &Report{}
	var mu sync.Mutex
	dirURL := "file://" + filepath.ToSlash(filepath.Dir(abs)) + "/"
	listen := func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
				}
				rep.ConsoleErrors = append(rep.ConsoleErrors, strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			msg := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				msg += " " + ev.ExceptionDetails.Exception.Description
			}
			rep.ConsoleErrors = append(rep.ConsoleErrors, msg)
		case *network.EventRequestWillBeSent:
			u := ev.Request.URL
			rep.Requests = append(rep.Requests, u)
			if !strings.HasPrefix(u, dirURL) && !strings.HasPrefix(u, "data:") {
				rep.Foreign = append(rep.Foreign, u)
			}
		}
	}
	// The browser starts on the first call, under a context without deadline (chromedp's rule).
	if err := chromedp.Listen(bctx, listen); err != nil {
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		return nil, fmt.Errorf("chromium: enable network events: %w", err)
	}
	tctx, cancel := context.WithTimeout(bctx, timeout)
	defer cancel()
	const waitImages = `new Promise(done => {
		const imgs = Array.from(document.images);
		Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = r; i.onerror = r; })))
			.then(() => done(true));
	})`
	const badImages = `Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))`
	wait := chromedp.Evaluate[bool](waitImages, chromedp.EvalAwaitPromise)
	if err := chromedp.Do(tctx, chromedp.Navigate("file://"+filepath.ToSlash(abs)), chromedp.WaitReady("body")); err != nil {
		return nil, fmt.Errorf("chromium on %s: %w", path, err)
	}
	if _, err := chromedp.Run(tctx, wait); err != nil {
		return nil, fmt.Errorf("chromium on %s: wait for images: %w", path, err)
	}
	if click != "" {
		if err := chromedp.Do(tctx, chromedp.Click(click), chromedp.Sleep(200*time.Millisecond)); err != nil {
			return nil, fmt.Errorf("chromium on %s: click %s: %w", path, click, err)
		}
		if _, err := chromedp.Run(tctx, wait); err != nil {
			return nil, fmt.Errorf("chromium on %s: wait for images: %w", path, err)
		}
	}
	bad, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](badImages))
	if err != nil {
		return nil, fmt.Errorf("chromium on %s: %w", path, err)
	}
	nimg, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.images.length`))
	if err != nil {
		return nil, fmt.Errorf("chromium on %s: %w", path, err)
	}
	shot, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		return nil, fmt.Errorf("chromium on %s: screenshot: %w", path, err)
	}
	mu.Lock()
	defer mu.Unlock()
	rep.Screenshot = shot
	rep.BadImages, rep.Images = bad, nimg
	return rep, nil
}
