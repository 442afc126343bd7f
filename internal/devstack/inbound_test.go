package devstack_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
)

const inboundParseSecret = "lifecycle-inbound-secret"

// postInboundReply posts an email as SendGrid Inbound Parse does.
func postInboundReply(t *testing.T, apiURL, from, subject, text string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range map[string]string{"from": from, "to": "ar@acme.test", "subject": subject, "text": text,
		"headers": "Subject: " + subject + "\r\n", "envelope": `{"to":["ar@acme.test"],"from":"` + from + `"}`} {
		_ = w.WriteField(k, v)
	}
	_ = w.Close()
	req, err := http.NewRequest(http.MethodPost, apiURL+"/webhooks/sendgrid/inbound", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.SetBasicAuth("sendgrid", inboundParseSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !bytes.Contains(body, []byte(`"accepted"`)) {
		t.Fatalf("inbound reply: %d %s", res.StatusCode, body)
	}
}
