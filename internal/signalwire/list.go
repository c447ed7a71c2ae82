package signalwire

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/signalwire-lambda/participants/internal/obs"
)

// The list's bounds: pages of listPageSize (a page of participants of a few
// KiB each stays under maxBodyBytes), at most maxListPages pages and
// maxListParticipants participants.
const (
	listPageSize        = 100
	maxListPages        = 20
	maxListParticipants = 1000
)

// ErrListTooLong is wrapped by ListParticipants' error for a list over its
// bounds: it never returns part of a list.
var ErrListTooLong = fmt.Errorf("the conference lists more than %d participants or %d pages", maxListParticipants, maxListPages)

// ListFilter selects participants by state; a nil field selects both.
type ListFilter struct {
	Muted, Hold *bool
}

// ListParticipants lists a conference's active participants ("List All
// Active Participants"), every page: each page is a GET as GetParticipant's
// (same auth, retries, errors), and next_page_uri is followed only on the
// same Space host and list path. ref.CallSID is ignored. A page that is
// not a JSON object with a participants array, an entry that is not an
// object, or a next_page_uri elsewhere is a KindBadResponse *APIError;
// a list over the bounds is an error wrapping ErrListTooLong.
func (c *Client) ListParticipants(ctx context.Context, auth Auth, ref ParticipantRef, f ListFilter) ([]*Participant, error) {
	if err := cmp.Or(ValidateSID(fieldAccountSID, ref.AccountSID), ValidateSID(fieldConferenceSID, ref.ConferenceSID)); err != nil {
		return nil, err
	}
	path := apiBasePath + "/Accounts/" + ref.AccountSID + "/Conferences/" + ref.ConferenceSID + "/Participants.json"
	q := url.Values{"PageSize": {strconv.Itoa(listPageSize)}}
	for name, v := range map[string]*bool{"Muted": f.Muted, "Hold": f.Hold} {
		if v != nil {
			q.Set(name, strconv.FormatBool(*v))
		}
	}
	target := "https://" + auth.SpaceHost + path + "?" + q.Encode()
	var all []*Participant
	for pages := 1; ; pages++ {
		var page []*Participant
		var next string
		err := c.get(ctx, auth, target, func(body []byte) (err error) {
			page, next, err = decodePage(body)
			return err
		})
		if err != nil {
			return nil, err
		}
		if all = append(all, page...); len(all) > maxListParticipants || (next != "" && pages == maxListPages) {
			return nil, fmt.Errorf("signalwire: GET participants: %w", ErrListTooLong)
		}
		if next == "" {
			return all, nil
		}
		if target, err = nextPage(auth.SpaceHost, path, next); err != nil {
			return nil, &APIError{Kind: KindBadResponse, StatusCode: 200, Attempts: 1, Err: err}
		}
	}
}

// decodePage reads one page of the list: its participants, each decoded
// leniently (DecodeParticipant), and its next_page_uri ("" on the last).
func decodePage(body []byte) ([]*Participant, string, error) {
	var page struct {
		Participants []json.RawMessage `json:"participants"`
		Next         string            `json:"next_page_uri"` // null: the last page
	}
	if err := json.Unmarshal(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), &page); err != nil {
		return nil, "", fmt.Errorf("page is not a list of participants: %w", describeJSONError(err))
	}
	if page.Participants == nil {
		return nil, "", errors.New("page has no participants array")
	}
	out := make([]*Participant, 0, len(page.Participants))
	for i, raw := range page.Participants {
		p, err := DecodeParticipant(raw)
		if err != nil {
			return nil, "", fmt.Errorf("entry %d: %w", i, err)
		}
		out = append(out, p)
	}
	return out, page.Next, nil
}

// nextPage returns the URL of next, a next_page_uri, on host: only a
// relative reference, or an https one on host itself, to path itself (with
// or without the /api/laml prefix and the .json suffix). Only its query is
// taken: the URL is host and path.
func nextPage(host, path, next string) (string, error) {
	key := func(p string) string { return strings.TrimSuffix(strings.TrimPrefix(p, "/api/laml"), ".json") }
	u, err := url.Parse(next)
	switch {
	case err != nil:
		return "", errors.New("next_page_uri is not a URL")
	case u.User != nil || u.Opaque != "" || (u.Host != "" && (u.Scheme != "https" || !strings.EqualFold(u.Host, host))) || (u.Host == "" && u.Scheme != ""):
		return "", errors.New("next_page_uri leaves the Space host")
	case !strings.EqualFold(key(u.EscapedPath()), key(path)):
		return "", fmt.Errorf("next_page_uri is not this conference's list: %q", obs.Truncate(u.EscapedPath(), maxQuotedValue))
	}
	return "https://" + host + path + "?" + u.RawQuery, nil
}
