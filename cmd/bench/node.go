package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// nodeSDK is the official-SDK peer's variant name (test/benchdata/nodepeer).
const nodeSDK = "node"

// nodeFiles are the peer's files copied next to its node_modules.
var nodeFiles = []string{"bootstrap", "runtime.js", "index.js", "package.json", "package-lock.json"}

// nodePeer is the installed official-SDK peer.
type nodePeer struct {
	// skipped says why the peer is not measured; "" when it is.
	skipped string
	// bootstrap is the script the RIE runs; proc finds the node process it
	// execs; path is its PATH.
	bootstrap string
	proc      proc
	path      string
	// size is the deployed bytes (every file a Lambda zip of dir holds),
	// awsSize those of node_modules/@aws-sdk, @aws-crypto, @aws and @smithy.
	size, awsSize int64
}

// installNode copies the peer into dir/node and installs its locked
// dependencies without dev dependencies (npm ci --omit=dev). Without node
// or npm, or when npm ci fails, the peer is skipped with a reason.
func installNode(ctx context.Context, root, dir string, progress func(string, ...any)) (*nodePeer, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &nodePeer{skipped: "node is not on PATH"}, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return &nodePeer{skipped: "npm is not on PATH"}, nil
	}
	if nodeBin, err = filepath.EvalSymlinks(nodeBin); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	dst := filepath.Join(dir, nodeSDK)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	for _, f := range nodeFiles {
		b, err := os.ReadFile(filepath.Join(root, "test", "benchdata", "nodepeer", f))
		if err != nil {
			return nil, fmt.Errorf("bench: node peer: %w", err)
		}
		mode := os.FileMode(0o644)
		if f == "bootstrap" {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, mode); err != nil {
			return nil, fmt.Errorf("bench: node peer: %w", err)
		}
	}
	progress("installing the Node.js SDK peer (npm ci --omit=dev) into %s", dst)
	cmd := exec.CommandContext(ctx, npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = dst
	if out, err := cmd.CombinedOutput(); err != nil {
		line, _, _ := strings.Cut(string(bytes.TrimSpace(out)), "\n")
		return &nodePeer{skipped: fmt.Sprintf("npm ci failed (%v): %s", err, line)}, nil
	}
	p := &nodePeer{
		bootstrap: filepath.Join(dst, "bootstrap"),
		proc:      proc{exe: nodeBin, arg: filepath.Join(dst, "runtime.js")},
		path:      filepath.Dir(nodeBin) + ":/usr/local/bin:/usr/bin:/bin",
	}
	err = filepath.WalkDir(dst, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		p.size += info.Size()
		rel, _ := filepath.Rel(dst, path)
		for _, sdk := range []string{"@aws-sdk", "@aws-crypto", "@aws", "@smithy"} {
			if strings.HasPrefix(rel, filepath.Join("node_modules", sdk)+string(filepath.Separator)) {
				p.awsSize += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bench: node peer size: %w", err)
	}
	return p, nil
}

// addNodeRows adds the Node.js SDK peer's rows: ours ÷ node for the deployed
// size, the cold and warm read at each RTT, and peak RSS after the cold runs.
func addNodeRows(t *table, o options, b builds, node *nodePeer, cold map[string]*coldResult) {
	if node.skipped != "" {
		t.add(row{measure: "Node.js SDK peer (test/benchdata/nodepeer)", ours: "skipped: " + node.skipped, target: info, status: info})
		return
	}
	our := b.sizes[ours]["arm64"]
	t.add(row{
		measure:  "deployed size: bootstrap (linux/arm64) against the Node.js SDK peer's handler + node_modules (npm ci --omit=dev)",
		ours:     fmtBytes(our),
		baseline: fmt.Sprintf("node %s (AWS SDK %s of it)", fmtBytes(node.size), fmtBytes(node.awsSize)),
		ratio:    fmt.Sprintf("%.2f×", float64(our)/float64(node.size)),
		target:   info,
		status:   info,
	})
	var hwmOurs, hwmNode sample
	for _, rtt := range o.rtts {
		c, n := cold[specName(ours, routeRead, rtt, "")], cold[specName(nodeSDK, routeRead, rtt, "")]
		co, cn := ms(c.first...), ms(n.first...)
		f := floor(cold[specName(hello, routeRead, 0, "")].first, floorRTTs[routeRead].cold, rtt)
		t.add(row{
			measure:  fmt.Sprintf("cold first response, read, RTT %s, against the Node.js SDK peer, n=%d", rtt, len(cn)),
			ours:     fmtMedian(co, 1, "ms"),
			baseline: "node " + fmtMedian(cn, 1, "ms") + "; node ÷ floor " + fmtRatio(cn.median(), f.median(), ratios(cn, f)),
			ratio:    fmtRatio(co.median(), cn.median(), ratios(co, cn)),
			target:   info,
			status:   info,
		})
		wo, wn := ms(c.warm...), ms(n.warm...)
		t.add(row{
			measure:  fmt.Sprintf("warm latency, read, RTT %s, against the Node.js SDK peer (median of %d invocations per emulator; new SignalWire connections per warm read)", rtt, warmPerColdRun),
			ours:     fmtMedian(wo, 2, "ms") + fmt.Sprintf("; %.1f conn/read", c.warmConns.median()),
			baseline: "node " + fmtMedian(wn, 2, "ms") + fmt.Sprintf("; %.1f conn/read", n.warmConns.median()),
			ratio:    fmtRatio(wo.median(), wn.median(), ratios(wo, wn)),
			target:   info,
			status:   info,
		})
		for i := range min(len(c.hwm), len(n.hwm)) {
			hwmOurs = append(hwmOurs, float64(c.hwm[i])/(1<<20))
			hwmNode = append(hwmNode, float64(n.hwm[i])/(1<<20))
		}
	}
	t.add(row{
		measure:  fmt.Sprintf("peak RSS after 1 cold + %d warm reads (/proc VmHWM), against the Node.js SDK peer", warmPerColdRun),
		ours:     fmtMedian(hwmOurs, 1, "MiB"),
		baseline: "node " + fmtMedian(hwmNode, 1, "MiB"),
		ratio:    fmtRatio(hwmOurs.median(), hwmNode.median(), ratios(hwmOurs, hwmNode)),
		target:   info,
		status:   info,
	})
	t.note("Node.js SDK peer (test/benchdata/nodepeer, installed with npm ci --omit=dev from its package-lock.json): the read as SignalWire's docs show it, @aws-sdk/client-secrets-manager's GetSecretValue once at module scope, then @signalwire/compatibility-api 3.2.0's RestClient(project, token, { signalwireSpaceUrl }).conferences(c).participants(p).fetch(), under the same RIE and simulated network, through a minimal Runtime API loop (runtime.js; the managed runtime's own is not available here), trusting the same CA file through NODE_EXTRA_CA_CERTS. Its deployed size is every file of the install (a Lambda zip's content, unzipped like the bootstrap's); the node binary is the managed runtime's and is not counted.")
}
