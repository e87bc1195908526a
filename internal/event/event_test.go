package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/perflab/apilab/internal/pb"
)

const validBody = `{"eventHeader": {"uuid": "550E8400-e29b-41d4-a716-446655440000", "eventName": "LoanPaymentSubmitted",
  "eventType": "LoanPaymentSubmitted", "createdDate": "2024-01-15T10:30:00Z", "savedDate": "2024-01-15T10:30:05.5+02:00",
  "extra": {"ignored": true}},
 "eventBody": {"entities": [
  {"entityType": "Loan", "entityId": "loan-12345", "updatedAttributes": {"balance": 24439.750000000000000001, "big": 12345678901234567890123}, "junk": 1},
  {"entityType": "Car", "entityId": "car-1", "updatedAttributes": {}}]}}`

// mutate decodes validBody, applies change to the generic document and re-encodes it.
func mutate(t *testing.T, change func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(validBody), &doc); err != nil {
		t.Fatal(err)
	}
	change(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func header(doc map[string]any) map[string]any { return doc["eventHeader"].(map[string]any) }
func entities(doc map[string]any) []any {
	return doc["eventBody"].(map[string]any)["entities"].([]any)
}
func entity0(doc map[string]any) map[string]any { return entities(doc)[0].(map[string]any) }

func manyEntities(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"entityType": "Car", "entityId": "c", "updatedAttributes": map[string]any{}}
	}
	return out
}

func TestEveryRuleAnswersWithItsExactMessage(t *testing.T) {
	cases := []struct {
		name    string
		body    []byte
		message string
	}{
		{"not json", []byte(`{"eventHeader": `), "malformed JSON"},
		{"empty body", []byte(``), "malformed JSON"},
		{"trailing garbage", []byte(`{} x`), "malformed JSON"},
		{"two values", []byte(`{} {}`), "malformed JSON"},
		{"invalid utf-8", []byte("{\"a\": \"\xff\"}"), "malformed JSON"},
		{"array body", []byte(`[]`), "request body must be a JSON object"},
		{"null body", []byte(`null`), "request body must be a JSON object"},
		{"header missing", mutate(t, func(d map[string]any) { delete(d, "eventHeader") }), "eventHeader must be an object"},
		{"header string", mutate(t, func(d map[string]any) { d["eventHeader"] = "h" }), "eventHeader must be an object"},
		{"uuid missing", mutate(t, func(d map[string]any) { delete(header(d), "uuid") }), "eventHeader.uuid must be a UUID"},
		{"uuid number", mutate(t, func(d map[string]any) { header(d)["uuid"] = 1 }), "eventHeader.uuid must be a UUID"},
		{"uuid no hyphens", mutate(t, func(d map[string]any) { header(d)["uuid"] = "550e8400e29b41d4a716446655440000" }), "eventHeader.uuid must be a UUID"},
		{"uuid braces", mutate(t, func(d map[string]any) { header(d)["uuid"] = "{550e8400-e29b-41d4-a716-446655440000}" }), "eventHeader.uuid must be a UUID"},
		{"uuid trailing newline", mutate(t, func(d map[string]any) { header(d)["uuid"] = "550e8400-e29b-41d4-a716-446655440000\n" }), "eventHeader.uuid must be a UUID"},
		{"name missing", mutate(t, func(d map[string]any) { delete(header(d), "eventName") }), "eventHeader.eventName must be a non-empty string"},
		{"name empty", mutate(t, func(d map[string]any) { header(d)["eventName"] = "" }), "eventHeader.eventName must be a non-empty string"},
		{"name null", mutate(t, func(d map[string]any) { header(d)["eventName"] = nil }), "eventHeader.eventName must be a non-empty string"},
		{"type number", mutate(t, func(d map[string]any) { header(d)["eventType"] = 5 }), "eventHeader.eventType must be a non-empty string"},
		{"created bad", mutate(t, func(d map[string]any) { header(d)["createdDate"] = "2024-02-30T10:00:00Z" }), "eventHeader.createdDate must be an RFC 3339 date-time"},
		{"created number", mutate(t, func(d map[string]any) { header(d)["createdDate"] = 1705314600 }), "eventHeader.createdDate must be an RFC 3339 date-time"},
		{"saved bad", mutate(t, func(d map[string]any) { header(d)["savedDate"] = "2024-01-15T10:30:60Z" }), "eventHeader.savedDate must be an RFC 3339 date-time"},
		{"body missing", mutate(t, func(d map[string]any) { delete(d, "eventBody") }), "eventBody must be an object"},
		{"body array", mutate(t, func(d map[string]any) { d["eventBody"] = []any{} }), "eventBody must be an object"},
		{"entities missing", mutate(t, func(d map[string]any) { d["eventBody"] = map[string]any{} }), "eventBody.entities must be an array of 1 to 100 entities"},
		{"entities empty", mutate(t, func(d map[string]any) { d["eventBody"].(map[string]any)["entities"] = []any{} }), "eventBody.entities must be an array of 1 to 100 entities"},
		{"entities 101", mutate(t, func(d map[string]any) { d["eventBody"].(map[string]any)["entities"] = manyEntities(101) }), "eventBody.entities must be an array of 1 to 100 entities"},
		{"entities object", mutate(t, func(d map[string]any) { d["eventBody"].(map[string]any)["entities"] = map[string]any{} }), "eventBody.entities must be an array of 1 to 100 entities"},
		{"entity string", mutate(t, func(d map[string]any) { entities(d)[1] = "car" }), "eventBody.entities[1] must be an object"},
		{"entity type digit first", mutate(t, func(d map[string]any) { entity0(d)["entityType"] = "1Car" }), "eventBody.entities[0].entityType must be a name: a letter, then letters or digits, at most 64 characters"},
		{"entity type 65", mutate(t, func(d map[string]any) { entity0(d)["entityType"] = strings.Repeat("A", 65) }), "eventBody.entities[0].entityType must be a name: a letter, then letters or digits, at most 64 characters"},
		{"entity type non-ascii", mutate(t, func(d map[string]any) { entity0(d)["entityType"] = "Cär" }), "eventBody.entities[0].entityType must be a name: a letter, then letters or digits, at most 64 characters"},
		{"entity id empty", mutate(t, func(d map[string]any) { entity0(d)["entityId"] = "" }), "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters"},
		{"entity id 256 code points", mutate(t, func(d map[string]any) { entity0(d)["entityId"] = strings.Repeat("é", 256) }), "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters"},
		{"attributes null", mutate(t, func(d map[string]any) { entity0(d)["updatedAttributes"] = nil }), "eventBody.entities[0].updatedAttributes must be a JSON object"},
		{"attributes array", mutate(t, func(d map[string]any) { entity0(d)["updatedAttributes"] = []any{1} }), "eventBody.entities[0].updatedAttributes must be a JSON object"},
		{"type checked before id", mutate(t, func(d map[string]any) { entity0(d)["entityType"] = ""; entity0(d)["entityId"] = "" }), "eventBody.entities[0].entityType must be a name: a letter, then letters or digits, at most 64 characters"},
		{"first broken rule wins", mutate(t, func(d map[string]any) { header(d)["uuid"] = "bad"; delete(d, "eventBody") }), "eventHeader.uuid must be a UUID"},
		{"entity index order", mutate(t, func(d map[string]any) { entities(d)[1] = 1; entity0(d)["entityId"] = "" }), "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters"},
		{"nul in name", mutate(t, func(d map[string]any) { header(d)["eventName"] = "a\x00" }), "event must not contain the NUL character (U+0000)"},
		{"nul in attribute key", mutate(t, func(d map[string]any) { entity0(d)["updatedAttributes"] = map[string]any{"a\x00": 1} }), "event must not contain the NUL character (U+0000)"},
		{"nul nested", mutate(t, func(d map[string]any) {
			entity0(d)["updatedAttributes"] = map[string]any{"a": []any{map[string]any{"b": "\x00"}}}
		}), "event must not contain the NUL character (U+0000)"},
		{"nul in unknown field", mutate(t, func(d map[string]any) { d["other"] = "\x00" }), "event must not contain the NUL character (U+0000)"},
		{"65 levels", []byte(strings.Repeat("[", 65) + strings.Repeat("]", 65)), MsgBodyTooDeep},
		{"too deep before any other rule", deepAttributes(t, 60), MsgBodyTooDeep},
		{"200,000 levels", []byte(strings.Repeat("[", 200000) + strings.Repeat("]", 200000)), MsgBodyTooDeep},
		{"deep objects", []byte(strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)), MsgBodyTooDeep},
		{"malformed wins over too deep", []byte(strings.Repeat("[", 65) + strings.Repeat("]", 65) + "x"), MsgMalformedJSON},
		{"unclosed and too deep", []byte(strings.Repeat("[", 200000)), MsgMalformedJSON},
		{"brackets in strings do not nest", []byte(`{"eventHeader": "` + strings.Repeat("[", 100) + `"}`), MsgHeaderObject},
		{"nul loses to an earlier rule", mutate(t, func(d map[string]any) { header(d)["eventName"] = "a\x00"; entity0(d)["entityId"] = "" }), "eventBody.entities[0].entityId must be a non-empty string of at most 255 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev, err := ParseJSON(c.body)
			invalid, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("got event %+v, error %v; want validation error %q", ev, err, c.message)
			}
			if invalid.Message != c.message {
				t.Fatalf("message %q, want %q", invalid.Message, c.message)
			}
		})
	}
}

// deepAttributes is a valid event whose first entity has {"deep": <levels nested objects>}: the attribute
// object is level 5 of the body, so the body nests 5 + levels.
func deepAttributes(t *testing.T, levels int) []byte {
	t.Helper()
	var value any = 1
	for range levels {
		value = map[string]any{"a": value}
	}
	return mutate(t, func(d map[string]any) { entity0(d)["updatedAttributes"] = map[string]any{"deep": value} })
}

func TestNestingUpTo64LevelsIsAccepted(t *testing.T) {
	ev, err := ParseJSON(deepAttributes(t, 59))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"deep":` + strings.Repeat(`{"a":`, 59) + "1" + strings.Repeat("}", 59) + "}"
	if got := string(ev.Entities[0].Attributes); got != want {
		t.Fatalf("attributes %s", got)
	}
	// In a batch the body is one level more: the same event is too deep there.
	if _, err := ParseBulkJSON([]byte("[" + string(deepAttributes(t, 59)) + "]")); err == nil || err.Error() != MsgBodyTooDeep {
		t.Fatalf("bulk: %v", err)
	}
	if _, err := ParseBulkJSON([]byte("[" + string(deepAttributes(t, 58)) + "]")); err != nil {
		t.Fatalf("bulk: %v", err)
	}
}

func TestValidEventAndItsCanonicalDocument(t *testing.T) {
	ev, err := ParseJSON([]byte(validBody))
	if err != nil {
		t.Fatal(err)
	}
	if ev.NormalizedUUID() != "550e8400-e29b-41d4-a716-446655440000" || len(ev.Entities) != 2 {
		t.Fatalf("got %+v", ev)
	}
	want := `{"eventHeader":{"uuid":"550E8400-e29b-41d4-a716-446655440000","eventName":"LoanPaymentSubmitted",` +
		`"eventType":"LoanPaymentSubmitted","createdDate":"2024-01-15T10:30:00Z","savedDate":"2024-01-15T10:30:05.5+02:00"},` +
		`"eventBody":{"entities":[{"entityType":"Loan","entityId":"loan-12345","updatedAttributes":` +
		`{"balance":24439.750000000000000001,"big":12345678901234567890123}},` +
		`{"entityType":"Car","entityId":"car-1","updatedAttributes":{}}]}}`
	if got := string(ev.Document()); got != want {
		t.Fatalf("document\n got %s\nwant %s", got, want)
	}
	wantSaved := time.Date(2024, 1, 15, 8, 30, 5, 500_000_000, time.UTC)
	if !ev.SavedDate.Instant.Equal(wantSaved) {
		t.Fatalf("saved instant %v, want %v", ev.SavedDate.Instant, wantSaved)
	}
}

func TestAbsentNullAndEmptyDatesAreLeftOut(t *testing.T) {
	for _, value := range []any{nil, ""} {
		ev, err := ParseJSON(mutate(t, func(d map[string]any) { header(d)["createdDate"] = value; delete(header(d), "savedDate") }))
		if err != nil {
			t.Fatal(err)
		}
		if ev.CreatedDate != nil || ev.SavedDate != nil {
			t.Fatalf("dates %v %v, want none", ev.CreatedDate, ev.SavedDate)
		}
		if doc := string(ev.Document()); strings.Contains(doc, "Date") {
			t.Fatalf("document mentions a date: %s", doc)
		}
	}
}

func TestUnicodeAndHTMLCharactersAreStoredAsSent(t *testing.T) {
	ev, err := ParseJSON(mutate(t, func(d map[string]any) {
		entity0(d)["entityId"] = strings.Repeat("é", 255)
		entity0(d)["updatedAttributes"] = map[string]any{"note": "<b>&</b> ☃"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ev.Entities[0].Attributes); got != `{"note":"<b>&</b> ☃"}` {
		t.Fatalf("attributes %s", got)
	}
}

func TestLoneSurrogateEscapesBecomeStorableText(t *testing.T) {
	body := strings.Replace(validBody, `"updatedAttributes": {}`, `"updatedAttributes": {"s": "\ud800"}`, 1)
	ev, err := ParseJSON([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ev.Entities[1].Attributes); got != "{\"s\":\"\uFFFD\"}" {
		t.Fatalf("attributes %s", got)
	}
}

func TestEntitiesInLockOrderIsAStableSortByTypeThenID(t *testing.T) {
	ev := &Event{Entities: []Entity{
		{Type: "Loan", ID: "b", Attributes: json.RawMessage(`{"n":1}`)},
		{Type: "Car", ID: "z"},
		{Type: "Loan", ID: "a"},
		{Type: "Loan", ID: "b", Attributes: json.RawMessage(`{"n":2}`)},
		{Type: "Car", ID: "a"},
	}}
	got := ev.EntitiesInLockOrder()
	want := []string{"Car/a", "Car/z", "Loan/a", `Loan/b{"n":1}`, `Loan/b{"n":2}`}
	for i, e := range got {
		if key := e.Type + "/" + e.ID + string(e.Attributes); key != want[i] {
			t.Fatalf("position %d: %s, want %s (all: %v)", i, key, want[i], got)
		}
	}
	if ev.Entities[0].Type != "Loan" {
		t.Fatal("sorting changed the request order of the event itself")
	}
}

func TestBulkBodyMustBeAnArrayOf1To1000(t *testing.T) {
	for _, body := range []string{`{}`, `[]`, `null`, "[" + strings.Repeat("{},", 1000) + "{}]"} {
		if _, err := ParseBulkJSON([]byte(body)); err == nil || err.Error() != MsgBulkNotArray {
			t.Errorf("body %.20s…: got %v", body, err)
		}
	}
	if _, err := ParseBulkJSON([]byte(`[1`)); err == nil || err.Error() != MsgMalformedJSON {
		t.Errorf("truncated: got %v", err)
	}
	items, err := ParseBulkJSON([]byte("[" + strings.Repeat("{},", 999) + "{}]"))
	if err != nil || len(items) != 1000 {
		t.Fatalf("1000 items: %d, %v", len(items), err)
	}
}

func TestEntityCountBounds(t *testing.T) {
	for _, n := range []int{1, 100} {
		if _, err := ParseJSON(mutate(t, func(d map[string]any) { d["eventBody"].(map[string]any)["entities"] = manyEntities(n) })); err != nil {
			t.Errorf("%d entities: %v", n, err)
		}
	}
}

func TestTimestamps(t *testing.T) {
	valid := map[string]time.Time{
		"2024-01-15T10:30:00Z":                time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
		"2024-02-29T00:00:00Z":                time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"2000-02-29T23:59:59Z":                time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC),
		"2024-01-15T10:30:00.123456789+00:00": time.Date(2024, 1, 15, 10, 30, 0, 123457000, time.UTC),
		"2024-01-15T10:30:00.0000005Z":        time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),    // half to even: 0
		"2024-01-15T10:30:00.0000015Z":        time.Date(2024, 1, 15, 10, 30, 0, 2000, time.UTC), // half to even: 2
		"2024-01-15T10:30:00.9999999Z":        time.Date(2024, 1, 15, 10, 30, 1, 0, time.UTC),
		"2024-01-15T10:30:00-05:30":           time.Date(2024, 1, 15, 16, 0, 0, 0, time.UTC),
		"2024-01-15T10:30:00+15:59":           time.Date(2024, 1, 14, 18, 31, 0, 0, time.UTC),
		"2024-01-15T10:30:00-15:59":           time.Date(2024, 1, 16, 2, 29, 0, 0, time.UTC),
		"0001-01-01T00:00:00Z":                time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		"9999-12-31T23:59:59.999999+15:59":    time.Date(9999, 12, 31, 8, 0, 59, 999999000, time.UTC),
	}
	for text, want := range valid {
		ts, ok := ParseTimestamp(text)
		if !ok || !ts.Instant.Equal(want) || ts.Text != text {
			t.Errorf("%s: ok=%v instant=%v, want %v", text, ok, ts.Instant, want)
		}
	}
	invalid := []string{
		"2023-02-29T10:00:00Z", "1900-02-29T10:00:00Z", "2024-04-31T10:00:00Z", "2024-13-01T00:00:00Z",
		"2024-00-10T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-15T24:00:00Z", "2024-01-15T10:60:00Z",
		"2024-01-15T10:30:60Z", "2024-01-15T10:30:00+24:00", "2024-01-15T10:30:00+05:60",
		"2024-01-15T10:30:00+16:00", "2024-01-15T10:30:00-16:00", "2024-01-15T10:30:00+23:59",
		"0000-01-01T00:00:00Z", "0000-12-31T23:59:59Z",
		"2024-01-15t10:30:00Z", "2024-01-15T10:30:00z", "2024-01-15 10:30:00Z", "2024-01-15T10:30:00",
		"2024-01-15T10:30:00.Z", "2024-01-15T10:30:00.1234567890Z", "2024-01-15", "24-01-15T10:30:00Z",
		"2024-01-15T10:30:00+0500", "2024-01-15T10:30Z", "2024-01-15T10:30:00Z\n", " 2024-01-15T10:30:00Z",
		"２０２４-01-15T10:30:00Z", "yesterday",
	}
	for _, text := range invalid {
		if _, ok := ParseTimestamp(text); ok {
			t.Errorf("%q accepted", text)
		}
	}
}

func protoRequest() *pb.EventRequest {
	return &pb.EventRequest{
		EventHeader: &pb.EventHeader{Uuid: "550e8400-e29b-41d4-a716-446655440000", EventName: "CarCreated",
			EventType: "CarCreated", CreatedDate: "2024-01-15T10:30:00Z"},
		EventBody: &pb.EventBody{Entities: []*pb.EntityUpdate{{EntityType: "Car", EntityId: "car-1",
			UpdatedAttributes: map[string]string{"a": "1"}}}},
	}
}

// checkProtoAttributesStoredAs sends each key of cases as the gRPC attribute "v" and checks that the
// event stores it as the JSON value beside it.
func checkProtoAttributesStoredAs(t *testing.T, cases map[string]string) {
	t.Helper()
	for text, want := range cases {
		req := protoRequest()
		req.EventBody.Entities[0].UpdatedAttributes = map[string]string{"v": text}
		ev, err := FromProto(req)
		if err != nil {
			t.Fatalf("%.20q: %v", text, err)
		}
		if got := string(ev.Entities[0].Attributes); got != `{"v":`+want+`}` {
			t.Errorf("%.20q stored as %.40s, want %.40s", text, got, want)
		}
	}
}

func TestProtoAttributeValuesAreJSONWhenTheWholeValueIsJSON(t *testing.T) {
	cases := map[string]string{
		"12":                    `12`,
		" 12 ":                  `12`,
		"24439.750000000000001": `24439.750000000000001`,
		"true":                  `true`,
		"null":                  `null`,
		`{"a":1}`:               `{"a":1}`,
		`[1, "x"]`:              `[1,"x"]`,
		`"quoted"`:              `"quoted"`,
		"abc":                   `"abc"`,
		"1 2":                   `"1 2"`,
		"":                      `""`,
		"{":                     `"{"`,
		"01":                    `"01"`,
		"<b>":                   `"<b>"`,
	}
	checkProtoAttributesStoredAs(t, cases)
}

func nestedObjects(levels int) string {
	return strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels)
}

func TestProtoAttributeNesting(t *testing.T) {
	cases := map[string]string{
		nestedObjects(59):                                       nestedObjects(59),                    // level 5 + 59 = 64
		strings.Repeat("[", 100):                                `"` + strings.Repeat("[", 100) + `"`, // not JSON: a string
		`"` + strings.Repeat("[", 100) + `"`:                    `"` + strings.Repeat("[", 100) + `"`, // a JSON string
		strings.Repeat("[", 60) + strings.Repeat("]", 60) + "x": `"` + strings.Repeat("[", 60) + strings.Repeat("]", 60) + `x"`,
	}
	checkProtoAttributesStoredAs(t, cases)
}

func TestProtoNumbersUpTo100CharactersAreStoredWithTheirDigits(t *testing.T) {
	hundred := "-1." + strings.Repeat("5", 95) + "e0" // 100 characters
	cases := map[string]string{
		hundred:                                hundred,
		strings.Repeat("9", 101) + " x":        `"` + strings.Repeat("9", 101) + ` x"`, // not JSON: a string
		`"` + strings.Repeat("9", 500) + `"`:   `"` + strings.Repeat("9", 500) + `"`,   // a JSON string
		`[` + strings.Repeat("9", 100) + `,1]`: `[` + strings.Repeat("9", 100) + `,1]`,
	}
	checkProtoAttributesStoredAs(t, cases)
}

func TestJSONNumbersOf100CharactersAreAcceptedAnd101Refused(t *testing.T) {
	withNumber := func(number string) []byte {
		return []byte(strings.Replace(validBody, "24439.750000000000000001", number, 1))
	}
	hundred := "-" + strings.Repeat("1", 94) + ".5e+1"
	if len(hundred) != 100 {
		t.Fatal(len(hundred))
	}
	ev, err := ParseJSON(withNumber(hundred))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(ev.Entities[0].Attributes); !strings.Contains(got, hundred) {
		t.Fatalf("the digits must be kept: %s", got)
	}
	long := withNumber("-" + strings.Repeat("1", 95) + ".5e+1")
	if _, err := ParseJSON(long); err == nil || err.Error() != MsgNumberTooLong {
		t.Fatalf("101 characters: %v", err)
	}
	// Anywhere in the body, even in a field that is otherwise ignored, and before every other rule.
	ignored := []byte(`{"junk": ` + strings.Repeat("1", 101) + `}`)
	if _, err := ParseJSON(ignored); err == nil || err.Error() != MsgNumberTooLong {
		t.Fatalf("in an ignored field: %v", err)
	}
	if _, err := ParseJSON([]byte(`[` + strings.Repeat("1", 101) + `]`)); err == nil || err.Error() != MsgNumberTooLong {
		t.Fatalf("before the object rule: %v", err)
	}
	// Malformed text stays malformed, however long its runs of digits.
	if _, err := ParseJSON([]byte(`{"a": ` + strings.Repeat("1", 101) + `x}`)); err == nil || err.Error() != MsgMalformedJSON {
		t.Fatalf("malformed: %v", err)
	}
	if _, err := ParseJSON([]byte(`{"a": "` + strings.Repeat("1", 1000) + `"}`)); err == nil || err.Error() != MsgHeaderObject {
		t.Fatalf("digits in a string are not a number: %v", err)
	}
	// In a batch, one long number rejects the whole request.
	bulk := []byte("[" + validBody + "," + string(long) + "]")
	if _, err := ParseBulkJSON(bulk); err == nil || err.Error() != MsgNumberTooLong {
		t.Fatalf("bulk: %v", err)
	}
}

func TestProtoAndJSONGiveTheSameDocument(t *testing.T) {
	fromProto, err := FromProto(protoRequest())
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := ParseJSON([]byte(`{"eventHeader":{"uuid":"550e8400-e29b-41d4-a716-446655440000","eventName":"CarCreated",
	  "eventType":"CarCreated","createdDate":"2024-01-15T10:30:00Z","savedDate":null},
	  "eventBody":{"entities":[{"entityType":"Car","entityId":"car-1","updatedAttributes":{"a":1}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(fromProto.Document()) != string(fromJSON.Document()) {
		t.Fatalf("proto %s\n json %s", fromProto.Document(), fromJSON.Document())
	}
}

func TestProtoValidationMessages(t *testing.T) {
	cases := []struct {
		name    string
		change  func(r *pb.EventRequest)
		message string
	}{
		{"header unset", func(r *pb.EventRequest) { r.EventHeader = nil }, MsgHeaderObject},
		{"uuid empty", func(r *pb.EventRequest) { r.EventHeader.Uuid = "" }, MsgUUID},
		{"name empty", func(r *pb.EventRequest) { r.EventHeader.EventName = "" }, MsgEventName},
		{"type empty", func(r *pb.EventRequest) { r.EventHeader.EventType = "" }, MsgEventType},
		{"created bad", func(r *pb.EventRequest) { r.EventHeader.CreatedDate = "2024-02-30T00:00:00Z" }, MsgCreatedDate},
		{"saved bad", func(r *pb.EventRequest) { r.EventHeader.SavedDate = "soon" }, MsgSavedDate},
		{"body unset", func(r *pb.EventRequest) { r.EventBody = nil }, MsgBodyObject},
		{"no entities", func(r *pb.EventRequest) { r.EventBody.Entities = nil }, MsgEntitiesArray},
		{"101 entities", func(r *pb.EventRequest) {
			for range 100 {
				r.EventBody.Entities = append(r.EventBody.Entities, &pb.EntityUpdate{EntityType: "Car", EntityId: "x"})
			}
		}, MsgEntitiesArray},
		{"nil entity", func(r *pb.EventRequest) { r.EventBody.Entities = append(r.EventBody.Entities, nil) }, MsgEntityObject(1)},
		{"entity type", func(r *pb.EventRequest) { r.EventBody.Entities[0].EntityType = "Car_1" }, MsgEntityType(0)},
		{"entity id", func(r *pb.EventRequest) { r.EventBody.Entities[0].EntityId = strings.Repeat("x", 256) }, MsgEntityID(0)},
		{"nul in id", func(r *pb.EventRequest) { r.EventBody.Entities[0].EntityId = "a\x00" }, MsgNUL},
		{"nul in type of event", func(r *pb.EventRequest) { r.EventHeader.EventType = "\x00" }, MsgNUL},
		{"nul in key", func(r *pb.EventRequest) { r.EventBody.Entities[0].UpdatedAttributes = map[string]string{"\x00": "1"} }, MsgNUL},
		{"nul in plain value", func(r *pb.EventRequest) { r.EventBody.Entities[0].UpdatedAttributes = map[string]string{"a": "x\x00"} }, MsgNUL},
		{"nul escaped in JSON value", func(r *pb.EventRequest) {
			r.EventBody.Entities[0].UpdatedAttributes = map[string]string{"a": `["\u0000"]`}
		}, MsgNUL},
		{"attribute 60 levels", func(r *pb.EventRequest) { r.EventBody.Entities[0].UpdatedAttributes["d"] = nestedObjects(60) }, MsgEventTooDeep},
		{"attribute 100,000 levels", func(r *pb.EventRequest) {
			r.EventBody.Entities[0].UpdatedAttributes["d"] = strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
		}, MsgEventTooDeep},
		{"too deep loses to a later entity's rule", func(r *pb.EventRequest) {
			r.EventBody.Entities[0].UpdatedAttributes["d"] = nestedObjects(60)
			r.EventBody.Entities = append(r.EventBody.Entities, &pb.EntityUpdate{EntityType: "1", EntityId: "x"})
		}, MsgEntityType(1)},
		{"too deep loses to NUL", func(r *pb.EventRequest) {
			r.EventBody.Entities[0].UpdatedAttributes["d"] = nestedObjects(60)
			r.EventBody.Entities[0].EntityId = "\x00"
		}, MsgNUL},
		{"attribute number of 101 characters", func(r *pb.EventRequest) {
			r.EventBody.Entities[0].UpdatedAttributes["n"] = "-1." + strings.Repeat("5", 98)
		}, MsgNumberTooLong},
		{"long number inside JSON", func(r *pb.EventRequest) {
			r.EventBody.Entities[0].UpdatedAttributes["n"] = `{"x":[` + strings.Repeat("9", 101) + `]}`
		}, MsgNumberTooLong},
		{"long number loses to deep", func(r *pb.EventRequest) {
			r.EventBody.Entities[0].UpdatedAttributes["n"] = strings.Repeat("9", 101)
			r.EventBody.Entities[0].UpdatedAttributes["d"] = nestedObjects(60)
		}, MsgEventTooDeep},
		{"long number loses to NUL", func(r *pb.EventRequest) {
			r.EventBody.Entities[0].UpdatedAttributes["n"] = `[` + strings.Repeat("9", 101) + `, "\u0000"]`
		}, MsgNUL},
		{"nul inside a too deep value", func(r *pb.EventRequest) {
			r.EventBody.Entities[0].UpdatedAttributes["d"] = strings.Repeat("[", 70) + `"\u0000"` + strings.Repeat("]", 70)
		}, MsgNUL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := protoRequest()
			c.change(req)
			_, err := FromProto(req)
			if invalid, ok := err.(*ValidationError); !ok || invalid.Message != c.message {
				t.Fatalf("got %v, want %q", err, c.message)
			}
		})
	}
	if _, err := FromProto(protoRequest()); err != nil {
		t.Fatalf("valid request rejected: %v", err)
	}
}
