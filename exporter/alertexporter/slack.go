package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"context"
	"fmt"
	"strings"
)

// slack sends alerts to a Slack incoming webhook, one message per notification.
type slack struct {
	poster
	url string
}

func (n slack) notify(ctx context.Context, alerts []amAlert) error {
	return n.post(ctx, n.url, slackMessageOf(alerts), len(alerts))
}

// slackMessage is a Slack incoming webhook message: a line, and an attachment per alert coloured by its state.
type slackMessage struct {
	Text        string            `json:"text"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Color     string `json:"color"`
	Title     string `json:"title"`
	TitleLink string `json:"title_link,omitempty"`
	Text      string `json:"text"`
	Footer    string `json:"footer"`
	Timestamp int64  `json:"ts"`
}

// slackMessageOf returns alerts as one Slack message.
func slackMessageOf(alerts []amAlert) slackMessage {
	firing := 0
	for _, a := range alerts {
		if a.Status != stateResolved {
			firing++
		}
	}
	m := slackMessage{Text: fmt.Sprintf("%d firing, %d resolved", firing, len(alerts)-firing)}
	if len(alerts) > maxSlackAttachments {
		m.Text += fmt.Sprintf(" (the first %d shown)", maxSlackAttachments)
		alerts = alerts[:maxSlackAttachments]
	}
	for _, a := range alerts {
		color, state := "danger", "FIRING"
		if a.Status == stateResolved {
			color, state = "good", "RESOLVED"
		}
		var labels []string
		for _, k := range sortedKeys(a.Labels) {
			labels = append(labels, "`"+slackEscape(strings.ReplaceAll(k+"="+a.Labels[k], "`", "'"))+"`")
		}
		m.Attachments = append(m.Attachments, slackAttachment{Color: color, Title: "[" + state + "] " + slackEscape(a.Labels["alertname"]),
			TitleLink: a.GeneratorURL, Text: slackEscape(capText(summaryOf(a), maxAnnotation)) + "\n" + strings.Join(labels, " "), Footer: "otelcol-strata",
			Timestamp: a.StartsAt.Unix()})
	}
	return m
}

// maxSlackAttachments bounds the alerts of one Slack message (Slack takes up to 100 attachments).
const maxSlackAttachments = 50

// slackEscaper escapes the three characters Slack reads as control sequences: text from labels (a user name in an
// sshd line, a KPI's JSON) must not become <!channel>, <!here> or a disguised link <https://evil|bank>.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackEscaper.Replace(s) }
