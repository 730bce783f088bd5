package policy

import (
	"errors"
	"time"
)

// FieldRule says whether a caller may change one field of a user, and if
// not, why and where to change it instead.
type FieldRule struct {
	Field     string // an API field name (FieldEmail, ...)
	Updatable bool
	// Script: the change runs the connection's script first (a legacy custom
	// database's change_email or change_password).
	Script bool
	// Reason is the refusal's Reason ("" when Updatable); Message is the
	// refusal's sentence, naming where to change the field instead.
	Reason  Reason
	Message string
}

// RuleFields are the fields FieldRules explains, in DecideUpdate's check
// order.
var RuleFields = [...]string{
	FieldEmail, FieldEmailVerified, FieldUsername, FieldPhoneNumber, FieldPassword,
	FieldName, FieldGivenName, FieldFamilyName, FieldNickname, FieldPicture,
	FieldBlocked, FieldUserMetadata, FieldAppMetadata,
}

// FieldRules explains, field by field, what DecideUpdate would say to caller
// about u (of connection c): it asks for each field alone, with a value
// valid under the default limits, so only scope and matrix refusals
// (FORBIDDEN, FIELD_NOT_UPDATABLE) make a field not updatable. A value the
// caller would send may still be refused as bad input; that is not a rule
// of the field.
//
// emailVerified follows DecideUpdate: for a legacy custom-database user it
// is not updatable alone (only together with email, through change_email).
func FieldRules(u User, c Connection, caller Caller) []FieldRule {
	out := make([]FieldRule, 0, len(RuleFields))
	for _, f := range RuleFields {
		rule := FieldRule{Field: f}
		d, err := DecideUpdate(u, c, caller, probe(u, f), Limits{}, time.Time{})
		var r *Refusal
		switch {
		case err == nil:
			rule.Updatable = true
			rule.Script = d.ChangeEmail != nil || d.ChangePasswordScript
		case errors.As(err, &r) && r.Reason != ReasonBadInput:
			rule.Reason, rule.Message = r.Reason, r.Message
		default:
			// A bad probe value: the field itself may change.
			rule.Updatable = true
		}
		out = append(out, rule)
	}
	return out
}

// probe asks for field f alone, with a value that passes validation and
// differs from u's where that matters (an email change is what runs a
// legacy change_email script).
func probe(u User, f string) Update {
	s := func(v string) *string { return &v }
	yes := true
	var r Update
	switch f {
	case FieldEmail:
		e := "field-rules.probe@example.com"
		if u.Email == e {
			e = "field-rules.probe2@example.com"
		}
		r.Email = &e
	case FieldEmailVerified:
		r.EmailVerified = &yes
	case FieldUsername:
		r.Username = s("probe")
	case FieldPhoneNumber:
		r.PhoneNumber = s("+15550000000")
	case FieldPassword:
		r.Password = s("probe-password-0123")
	case FieldName:
		r.Name = s("Probe")
	case FieldGivenName:
		r.GivenName = s("Probe")
	case FieldFamilyName:
		r.FamilyName = s("Probe")
	case FieldNickname:
		r.Nickname = s("probe")
	case FieldPicture:
		r.Picture = s("https://example.com/probe.png")
	case FieldBlocked:
		r.Blocked = &yes
	case FieldUserMetadata:
		r.UserMetadata = Metadata{}
	case FieldAppMetadata:
		r.AppMetadata = Metadata{}
	}
	return r
}
