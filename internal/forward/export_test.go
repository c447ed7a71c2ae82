package forward

// Unexported names the external tests exercise.
var (
	Retryable             = retryable
	SafeAttribute         = safeAttribute
	SQSAllowed            = sqsAllowed
	FIFOID                = fifoID
	EventBridgeDetailType = eventBridgeDetailType
	ValidSQSText          = validSQSText
)

const (
	EventBridgeSource     = eventBridgeSource
	DetailTypeConference  = detailTypeConference
	DetailTypeCall        = detailTypeCall
	DetailTypeOther       = detailTypeOther
	DefaultMessageGroupID = defaultMessageGroupID
)

type EntryError = entryError

var ErrInvalidSigningSecret = errInvalidSigningSecret
