package function

import (
	"io"
	"log/slog"

	"github.com/signalwire-lambda/participants/internal/credentials"
	"github.com/signalwire-lambda/participants/internal/obs"
)

// newLogger returns the function's logger, whose every line passes
// through a redactor, and the credentials cache's OnLoad hook that teaches
// the redactor each secret value of a loaded set (its encodings, and its
// Basic credentials).
func newLogger(stdout io.Writer, level slog.Leveler) (*slog.Logger, func(credentials.Credentials)) {
	secrets := &obs.Secrets{}
	log := obs.NewLogger(stdout, level)
	return slog.New(obs.Redacting(log.Handler(), secrets)), func(c credentials.Credentials) {
		secrets.Add(c.SecretValues()...)
		secrets.AddBasic(c.ProjectID, c.APIToken)
	}
}
