package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// repoURL is the public address of this repository's main branch; links to
// it (problem type URIs included) are checked against the local files.
const repoURL = "https://github.com/signalwire-lambda/participants/blob/main/"

var (
	fence      = regexp.MustCompile("(?ms)^ {0,3}(```|~~~).*?^ {0,3}(```|~~~)[^\n]*$")
	codeSpan   = regexp.MustCompile("`+[^`]*`+")
	inlineLink = regexp.MustCompile(`!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	refLink    = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)
	repoLink   = regexp.MustCompile(regexp.QuoteMeta(repoURL) + `[^\s)"'<>\x60]*`)
	heading    = regexp.MustCompile(`(?m)^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// markdownFiles are the pages the check covers, relative to root.
func markdownFiles(root string) ([]string, error) {
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	files := []string{"README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(root, d)
		if err != nil {
			return nil, err
		}
		files = append(files, rel)
	}
	return files, nil
}

// anchors returns the anchors GitHub generates for a Markdown page: one per
// heading (lower case, punctuation dropped, spaces to hyphens, -1, -2, …
// for repeats) and one per <a name|id="…">.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(text, ""), -1) {
		h := mdLink.ReplaceAllString(m[1], "$1")
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.M, r):
				b.WriteRune(r)
			}
		}
		slug := b.String()
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	for _, m := range htmlAnchor.FindAllStringSubmatch(text, -1) {
		out[m[1]] = true
	}
	return out
}

// checkLinks returns one line per link of the pages under root that does
// not resolve: a relative path that does not exist, an #anchor that is not
// a heading of its page, or a repoURL address naming either.
func checkLinks(root string, files []string) []string {
	var bad []string
	pages := map[string]map[string]bool{}
	anchorsOf := func(path string) (map[string]bool, error) {
		if a, ok := pages[path]; ok {
			return a, nil
		}
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			return nil, err
		}
		pages[path] = anchors(string(b))
		return pages[path], nil
	}
	for _, file := range files {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", file, err))
			continue
		}
		text := string(b)
		prose := codeSpan.ReplaceAllString(fence.ReplaceAllString(text, ""), "")
		type link struct{ target, path string } // path: repository-relative, "" for the page itself
		var links []link
		for _, re := range []*regexp.Regexp{inlineLink, refLink} {
			for _, m := range re.FindAllStringSubmatch(prose, -1) {
				t := m[1]
				if strings.HasPrefix(t, repoURL) || strings.Contains(t, "://") || strings.HasPrefix(t, "mailto:") {
					continue // repoURL addresses are checked below, wherever they appear
				}
				p, _, _ := strings.Cut(t, "#")
				if p != "" {
					p = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(file), p)))
				} else {
					p = file
				}
				links = append(links, link{t, p})
			}
		}
		// Addresses of this repository, in prose or code (problem type URIs).
		for _, t := range repoLink.FindAllString(text, -1) {
			t = strings.TrimRight(t, ".,;:")
			p, _, _ := strings.Cut(strings.TrimPrefix(t, repoURL), "#")
			links = append(links, link{t, p})
		}
		for _, l := range links {
			if strings.HasPrefix(l.path, "../") || l.path == ".." {
				bad = append(bad, fmt.Sprintf("%s: %s leaves the repository", file, l.target))
				continue
			}
			if _, err := os.Stat(filepath.Join(root, l.path)); err != nil {
				bad = append(bad, fmt.Sprintf("%s: %s: no such file %s", file, l.target, l.path))
				continue
			}
			_, frag, ok := strings.Cut(l.target, "#")
			if !ok {
				continue
			}
			if !strings.HasSuffix(l.path, ".md") {
				bad = append(bad, fmt.Sprintf("%s: %s: an anchor in %s, which is not Markdown", file, l.target, l.path))
				continue
			}
			a, err := anchorsOf(l.path)
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s: %s: %v", file, l.target, err))
				continue
			}
			if !a[frag] {
				bad = append(bad, fmt.Sprintf("%s: %s: %s has no heading #%s", file, l.target, l.path, frag))
			}
		}
	}
	return bad
}

// TestLinksResolve: every relative link and #anchor in README.md and
// docs/*.md, and every address of this repository they mention (the
// problem type URIs of docs/problems.md included), resolves.
func TestLinksResolve(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := markdownFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %v: want README.md and docs/*.md", files)
	}
	for _, b := range checkLinks(root, files) {
		t.Error(b)
	}
}

// TestCheckLinksFindsBrokenOnes: the checker reports a missing file, a
// missing anchor (here and in another page), a broken address of this
// repository (in a code span, as problem types are written) and a link out
// of the repository, and accepts their working forms.
func TestCheckLinksFindsBrokenOnes(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Title\n\n## The `envelope` (v1)\n\n## Repeat\n\n## Repeat\n\n"+
		"[ok](#the-envelope-v1) [ok](#repeat-1) [ok](docs/p.md#invalid-sid) [ok](docs) [ok](https://example.com/x#y)\n"+
		"`"+repoURL+"docs/p.md#invalid-sid` "+repoURL+"README.md#title\n"+
		"```\n[not a link](nowhere.md)\n```\n"+
		"[bad1](missing.md) [bad2](#nowhere) [bad3](docs/p.md#gone) [bad4](../outside.md)\n"+
		"`"+repoURL+"docs/p.md#not-a-kind`\n")
	write("docs/p.md", "# Problems\n\n## invalid-sid\n\n[ok](../README.md#repeat) [bad5](../README.md#nope)\n")
	got := checkLinks(root, []string{"README.md", "docs/p.md"})
	for _, want := range []string{"missing.md", "#nowhere", "docs/p.md#gone", "../outside.md", "docs/p.md#not-a-kind", "../README.md#nope"} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("broken link %s not reported; got %q", want, got)
		}
	}
	if len(got) != 6 {
		t.Errorf("got %d reports, want 6: %q", len(got), got)
	}
}
