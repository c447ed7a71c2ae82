package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// maxPageSize is Twilio's largest PageSize; larger requests are capped.
const maxPageSize = 1000

// ListPath returns the List All Active Participants path (without the
// .json suffix) for the given ids.
func ListPath(accountSid, conferenceSid string) string {
	return BasePath + "/Accounts/" + accountSid + "/Conferences/" + conferenceSid + "/Participants"
}

// listPage is Twilio's page of a list, its fields in Twilio's order.
type listPage struct {
	End             int               `json:"end"`
	FirstPageURI    string            `json:"first_page_uri"`
	NextPageURI     *string           `json:"next_page_uri"`
	Page            int               `json:"page"`
	PageSize        int               `json:"page_size"`
	Participants    []json.RawMessage `json:"participants"`
	PreviousPageURI *string           `json:"previous_page_uri"`
	Start           int               `json:"start"`
	URI             string            `json:"uri"`
}

// list answers List All Active Participants: the conference's participants
// in insertion order, except those whose status says they left (completed,
// complete, failed), kept by the Muted and Hold filters; an unknown
// conference lists none, as an ended one does. Paging is Twilio's: PageSize
// (default 50, capped at the server's maximum), Page (from 0), and the
// PageToken of next_page_uri ("PA" and the previous page's last call SID),
// which wins over Page while that participant is still listed.
func (s *Server) list(r *http.Request, h http.Header, account, conf string) (int, http.Header, []byte) {
	q := r.URL.Query()
	filters, size, page, problem := listQuery(q, s.maxPage)
	if problem != "" {
		return http.StatusBadRequest, h, ErrorBody(http.StatusBadRequest, CodeUnknown, problem)
	}
	s.mu.Lock()
	projectID := s.projectID
	var all []Participant
	if c, ok := s.confs[strings.ToLower(conf)]; ok {
		for _, k := range c.order {
			if p := c.participants[k]; listed(p, filters) {
				all = append(all, p.clone())
			}
		}
	}
	s.mu.Unlock()

	start := min(page*size, len(all))
	if tok, ok := strings.CutPrefix(q.Get("PageToken"), "PA"); ok {
		if i := slices.IndexFunc(all, func(p Participant) bool { return strings.EqualFold(p.CallSid, tok) }); i >= 0 {
			start = i + 1
		}
	}
	end := min(start+size, len(all))
	uri := func(page int, token string) string {
		v := url.Values{"PageSize": {strconv.Itoa(size)}, "Page": {strconv.Itoa(page)}}
		for k, f := range filters {
			v.Set(k, strconv.FormatBool(f))
		}
		if token != "" {
			v.Set("PageToken", token)
		}
		return ListPath(account, conf) + ".json?" + v.Encode()
	}
	out := listPage{Page: page, PageSize: size, Start: start, End: max(end-1, start),
		FirstPageURI: uri(0, ""), URI: uri(page, q.Get("PageToken")), Participants: []json.RawMessage{}}
	for _, p := range all[start:end] {
		out.Participants = append(out.Participants, RenderParticipant(projectID, conf, p))
	}
	if end < len(all) {
		next := uri(page+1, "PA"+all[end-1].CallSid)
		out.NextPageURI = &next
	}
	if page > 0 {
		prev := uri(page-1, "")
		out.PreviousPageURI = &prev
	}
	return http.StatusOK, h, mustJSON(out)
}

// listQuery reads the list's filters and paging, or says what is wrong.
func listQuery(q url.Values, maxPage int) (filters map[string]bool, size, page int, problem string) {
	filters = map[string]bool{}
	for _, name := range []string{"Muted", "Hold"} {
		if !q.Has(name) {
			continue
		}
		switch v := strings.ToLower(q.Get(name)); v {
		case "true", "false":
			filters[name] = v == "true"
		default:
			return nil, 0, 0, name + " must be true or false, not " + strconv.Quote(q.Get(name))
		}
	}
	size, page = 50, 0
	for name, dst := range map[string]*int{"PageSize": &size, "Page": &page} {
		if !q.Has(name) {
			continue
		}
		n, err := strconv.Atoi(q.Get(name))
		if err != nil || n < 0 || n > 1<<20 || (name == "PageSize" && n == 0) {
			return nil, 0, 0, name + " must be a whole number in range, not " + strconv.Quote(q.Get(name))
		}
		*dst = n
	}
	return filters, min(size, maxPage), page, ""
}

// listed reports whether p is still in its conference and passes filters.
func listed(p Participant, filters map[string]bool) bool {
	switch p.Status {
	case "completed", "complete", "failed":
		return false
	}
	if f, ok := filters["Muted"]; ok && f != p.Muted {
		return false
	}
	if f, ok := filters["Hold"]; ok && f != p.Hold {
		return false
	}
	return true
}
