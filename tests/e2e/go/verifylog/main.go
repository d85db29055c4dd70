// Command verifylog checks a running Accountability Ledger's transparency log with Go's
// own golang.org/x/mod/sumdb/note and sumdb/tlog packages, unchanged (DESIGN §5): the
// interoperability test in tests/e2e/test_go_interop.py builds and runs it.
//
// Usage:
//
//	verifylog -old EARLIER_CHECKPOINT_FILE BASE_URL VKEY INDEX...
//
// It fetches the latest checkpoint and opens it with note.Open (the signature must verify
// under VKEY, whose name is the log's origin), parses the checkpoint text itself
// (tlog.ParseTree reads only Go's own origin line), then for each INDEX checks the
// served inclusion proof with tlog.CheckRecord and the served entry's bytes with
// tlog.RecordHash. With -old it also opens the earlier checkpoint saved in that file and
// checks the served consistency proof with tlog.CheckTree. It prints one line per check
// and exits 1 with a message naming the failed check.
//
// Built in GOPATH mode from Debian's golang-go and golang-golang-x-mod-dev, no network.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var client = &http.Client{Timeout: 10 * time.Second}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "FAIL: "+format+"\n", args...)
	os.Exit(1)
}

// get fetches base+path and returns the body of a 200 answer.
func get(base, path string) []byte {
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	if token := os.Getenv("LEDGER_TOKEN"); token != "" { // entries need an inspector
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		fail("GET %s: status %d, %v: %s", path, resp.StatusCode, err, body)
	}
	return body
}

// checkpoint is a C2SP tlog-checkpoint body: origin, tree size, base64 root hash.
type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// openCheckpoint verifies the note's signature with note.Open, then splits its text.
func openCheckpoint(what string, msg []byte, verifier note.Verifier) checkpoint {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("%s: note.Open: %v\n%s", what, err, msg)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		fail("%s: the text is not exactly origin, size and root lines: %q", what, n.Text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		fail("%s: bad tree size line %q", what, lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("%s: bad root hash line %q", what, lines[2])
	}
	if lines[0] != verifier.Name() {
		fail("%s: origin %q is not the key name %q", what, lines[0], verifier.Name())
	}
	c := checkpoint{origin: lines[0], size: size}
	copy(c.root[:], root)
	fmt.Printf("checkpoint ok: %s: origin %s, size %d, root %s, signed by %s+%08x\n",
		what, c.origin, c.size, c.root, n.Sigs[0].Name, n.Sigs[0].Hash)
	return c
}

// hexHash decodes one lowercase hex hash of the JSON API.
func hexHash(what, s string) tlog.Hash {
	var h tlog.Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize || hex.EncodeToString(b) != s {
		fail("%s: %q is not 64 lowercase hex digits", what, s)
	}
	copy(h[:], b)
	return h
}

func hexHashes(what string, list []string) []tlog.Hash {
	hashes := make([]tlog.Hash, len(list))
	for i, s := range list {
		hashes[i] = hexHash(what, s)
	}
	return hashes
}

func decode(what string, body []byte, v interface{}) {
	if err := json.Unmarshal(body, v); err != nil {
		fail("%s: %v: %s", what, err, body)
	}
}

func main() {
	oldFile := flag.String("old", "", "a file holding an earlier checkpoint note (for a consistency proof)")
	flag.Parse()
	if flag.NArg() < 3 {
		fail("usage: verifylog [-old FILE] BASE_URL VKEY INDEX...")
	}
	base, vkey := strings.TrimRight(flag.Arg(0), "/"), flag.Arg(1)
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("note.NewVerifier(%q): %v", vkey, err)
	}
	latest := openCheckpoint("latest", get(base, "/v1/log/checkpoint"), verifier)

	for _, arg := range flag.Args()[2:] {
		index, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			fail("index %q: %v", arg, err)
		}
		// Inclusion: the served proof (hashes from the leaf up) against the latest root.
		var proof struct {
			Index    int64    `json:"index"`
			TreeSize int64    `json:"tree_size"`
			LeafHash string   `json:"leaf_hash"`
			Hashes   []string `json:"hashes"`
		}
		path := fmt.Sprintf("/v1/log/proof/inclusion?index=%d&tree_size=%d", index, latest.size)
		decode(path, get(base, path), &proof)
		if proof.Index != index || proof.TreeSize != latest.size {
			fail("%s: answered index %d, tree_size %d", path, proof.Index, proof.TreeSize)
		}
		leaf := hexHash(path+" leaf_hash", proof.LeafHash)
		record := tlog.RecordProof(hexHashes(path+" hashes", proof.Hashes))
		if err := tlog.CheckRecord(record, latest.size, latest.root, index, leaf); err != nil {
			fail("tlog.CheckRecord(index %d, tree %d, leaf %s, %d hashes): %v",
				index, latest.size, leaf, len(record), err)
		}
		fmt.Printf("inclusion ok: index %d in tree %d (%d hashes), leaf %s\n",
			index, latest.size, len(record), leaf)

		// Entry: the served entry's exact bytes (spliced verbatim into the response, so a
		// json.RawMessage keeps them) must hash to that leaf.
		var entries struct {
			Entries []struct {
				Index    int64           `json:"index"`
				LeafHash string          `json:"leaf_hash"`
				Entry    json.RawMessage `json:"entry"`
			} `json:"entries"`
		}
		path = fmt.Sprintf("/v1/log/entries?start=%d&end=%d", index, index+1)
		decode(path, get(base, path), &entries)
		if len(entries.Entries) != 1 || entries.Entries[0].Index != index {
			fail("%s: expected exactly entry %d", path, index)
		}
		served := entries.Entries[0]
		computed := tlog.RecordHash(served.Entry)
		if computed != leaf || hexHash(path+" leaf_hash", served.LeafHash) != leaf {
			fail("%s: tlog.RecordHash(entry bytes) = %s, served leaf_hash %s, proven leaf %s; entry bytes: %s",
				path, computed, served.LeafHash, leaf, served.Entry)
		}
		fmt.Printf("entry ok: index %d, tlog.RecordHash of its %d bytes = %s\n",
			index, len(served.Entry), computed)
	}

	if *oldFile != "" {
		msg, err := os.ReadFile(*oldFile)
		if err != nil {
			fail("reading -old: %v", err)
		}
		old := openCheckpoint("earlier", msg, verifier)
		var proof struct {
			First  int64    `json:"first"`
			Second int64    `json:"second"`
			Hashes []string `json:"hashes"`
		}
		path := fmt.Sprintf("/v1/log/proof/consistency?first=%d&second=%d", old.size, latest.size)
		decode(path, get(base, path), &proof)
		if proof.First != old.size || proof.Second != latest.size {
			fail("%s: answered first %d, second %d", path, proof.First, proof.Second)
		}
		tree := tlog.TreeProof(hexHashes(path+" hashes", proof.Hashes))
		if err := tlog.CheckTree(tree, latest.size, latest.root, old.size, old.root); err != nil {
			fail("tlog.CheckTree(tree %d root %s, earlier %d root %s, %d hashes): %v",
				latest.size, latest.root, old.size, old.root, len(tree), err)
		}
		fmt.Printf("consistency ok: tree %d is a prefix of tree %d (%d hashes)\n",
			old.size, latest.size, len(tree))
	}
	fmt.Println("all checks passed")
}
