// Package ddb keeps what the project knows of payment transactions —
// inquiry answers, Ottu's disclosure callbacks and the Step Functions tasks
// waiting for the next disclosure — in one DynamoDB table: the
// txn.Store the inquiry and callback domains share.
//
// Items are filed under the transaction's session_id (its order_no when an
// entry or waiter has no session_id), sorted by kind:
//
//	txn=<id> sk=current          the current view (newest state, by txn.OrderKey)
//	txn=<id> sk=entry#<digest>   one item per distinct answer or delivery (the history)
//	txn=<id> sk=waiter#<id>      a task token waiting for the next disclosure
//
// A repeated delivery is refused by the condition on its entry item, so each
// is stored once, in one write; the current view moves only forward, in one
// conditional update. The index by_order (keys only, on order_ref, set on
// current views filed by session_id) finds a transaction by its order_no.
// Every item expires by TTL on expires_at.
package ddb

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ottuops/ottu-lambda/shared/platform/dynamo"
	"github.com/ottuops/ottu-lambda/shared/txn"
)

// DynamoAPI is the part of the DynamoDB client the store uses: every call
// of dynamo.Client. *dynamodb.Client satisfies it, as does testkit.CountingClient.
type DynamoAPI = dynamo.Client

// ErrInvalidInput marks a call the store refuses before sending anything:
// a programming error in the caller (or an id DynamoDB cannot key), never a
// DynamoDB problem.
var ErrInvalidInput = errors.New("invalid transaction store input")

// ClaimLease is how long a claimed waiter stays claimed: a resume that
// crashed between ClaimWaiter and FinishWaiter leaves the waiter
// "resuming", and after this it is pending again, so the next delivery
// retries it instead of the workflow waiting until its own time-out.
const ClaimLease = 30 * time.Second

// maxIDBytes bounds a session_id or order_no: DynamoDB keys a partition by
// at most 2048 bytes; Ottu's ids are far shorter.
const maxIDBytes = 1024

// maxPages bounds the pages one history or waiter listing reads (1 MB
// each), so a corrupt or hostile partition cannot keep a request running.
const maxPages = 32

// Store is the DynamoDB txn.Store. Safe for concurrent use.
type Store struct {
	client DynamoAPI
	table  string
	// now is Waiters' clock (to leave out expired and freshly claimed
	// waiters); the other methods take the time from their caller.
	now func() time.Time
}

var _ txn.Store = (*Store)(nil)

// New returns a store on table, made by CreateTable or template.yaml's
// InquiriesTable.
func New(client DynamoAPI, table string) *Store {
	return &Store{client: client, table: table, now: time.Now}
}

// WithClock sets the clock Waiters uses; tests move time.
func (s *Store) WithClock(now func() time.Time) *Store {
	c := *s
	c.now = now
	return &c
}

func checkID(what, id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: the %s is empty", ErrInvalidInput, what)
	case len(id) > maxIDBytes:
		return fmt.Errorf("%w: the %s is longer than %d bytes", ErrInvalidInput, what, maxIDBytes)
	}
	return nil
}

func validateEntry(e txn.Entry) error {
	var problem string
	switch {
	case e.SessionID == "" && e.OrderNo == "":
		problem = "the entry has neither session_id nor order_no"
	case e.Digest == "":
		problem = "the entry has no digest"
	case e.Source == "":
		problem = "the entry has no source"
	case e.ReceivedAt.IsZero():
		problem = "the entry has no ReceivedAt"
	case len(e.Body) == 0:
		problem = "the entry has no body"
	default:
		if err := checkID("session_id", e.SessionID); e.SessionID != "" && err != nil {
			return err
		}
		if err := checkID("order_no", e.OrderNo); e.OrderNo != "" && err != nil {
			return err
		}
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidInput, problem)
}

// Put stores e once per digest and moves the current view forward.
//
// The entry is one PutItem conditioned on its item not existing: a
// delivery stored before answers false. The current view is then one
// UpdateItem conditioned on it being absent or having a smaller
// txn.OrderKey, so a late, older delivery stays in the history only.
// The view is updated on a repeated delivery too: if the first delivery's
// update failed after its entry was stored, the repeat completes it (and
// otherwise its condition fails, changing nothing). stored reports the
// entry write even when err then concerns the current view.
func (s *Store) Put(ctx context.Context, e txn.Entry) (stored bool, err error) {
	if err := validateEntry(e); err != nil {
		return false, fmt.Errorf("store transaction entry: %w", err)
	}
	txnKey := entryKey(e.SessionID, e.OrderNo)
	item := entryAttrs(e)
	item[attrTxn] = dynamo.String(txnKey)
	item[attrSK] = dynamo.String(skEntryPrefix + e.Digest)
	stored, err = s.putNew(ctx, item)
	if err != nil {
		return false, fmt.Errorf("store transaction entry: %w", err)
	}
	if e.Conflict != "" || e.Source == txn.SourceOperation {
		// A conflict is flagged in the history and changes nothing else; a
		// notification describes a child transaction: it joins the history
		// only, never the payment's current view.
		return stored, nil
	}
	if err := s.moveCurrent(ctx, txnKey, e); err != nil {
		return stored, fmt.Errorf("update the current view: %w", err)
	}
	return stored, nil
}

// putNew writes item in one PutItem conditioned on no item holding its key:
// written is false, and no error, when one does (a repeated delivery or
// registration), so a repeat changes nothing.
func (s *Store) putNew(ctx context.Context, item map[string]types.AttributeValue) (written bool, err error) {
	written, _, err = s.putNewOrOld(ctx, item)
	return written, err
}

// putNewOrOld is putNew that also returns the item already there when the
// write is refused (DynamoDB returns it with the refusal: no second read).
func (s *Store) putNewOrOld(ctx context.Context, item map[string]types.AttributeValue) (written bool, old map[string]types.AttributeValue, err error) {
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.table),
		Item:                                item,
		ConditionExpression:                 aws.String("attribute_not_exists(#sk)"),
		ExpressionAttributeNames:            map[string]string{"#sk": attrSK},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var failed *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil, nil
	case errors.As(err, &failed):
		return false, failed.Item, nil
	}
	return false, nil, err
}

// moveCurrent writes e as the current view unless the view holds an entry
// with the same or a greater order key.
func (s *Store) moveCurrent(ctx context.Context, txnKey string, e txn.Entry) error {
	u := dynamo.NewUpdate()
	attrs := entryAttrs(e)
	for _, name := range []string{attrSessionID, attrOrderNo, attrReference, attrSource, attrReceivedAt, attrOttuTimestamp, attrState, attrResult, attrBody, attrDigest, attrExpiresAt} {
		// An attribute the new entry lacks must not survive from the old one.
		if v, ok := attrs[name]; ok {
			u.SetValue(name, v)
		} else {
			u.Remove(name)
		}
	}
	orderKey := txn.OrderKey(e)
	u.SetValue(attrOrderKey, dynamo.String(orderKey))
	if e.OrderNo != "" && txnKey != e.OrderNo {
		u.SetValue(attrOrderRef, dynamo.String(e.OrderNo))
	} else {
		u.Remove(attrOrderRef)
	}
	ok := u.Name(attrOrderKey)
	cond := "attribute_not_exists(" + ok + ") OR " + ok + " < " + u.Value("neworderkey", dynamo.String(orderKey))
	_, err := s.client.UpdateItem(ctx, u.Input(s.table, key(txnKey, skCurrent), cond))
	if err != nil && !dynamo.IsConditionFailed(err) {
		return err
	}
	return nil
}

// Bind binds sessionID to id (txn.Binder): one conditional PutItem of the
// session's binding item, unconditional when authoritative; when a binding
// exists already (and this one is not authoritative), it is read back,
// strongly consistent, and returned.
func (s *Store) Bind(ctx context.Context, sessionID string, id txn.Identity, authoritative bool) (txn.Identity, error) {
	if err := checkID("session_id", sessionID); err != nil {
		return txn.Identity{}, fmt.Errorf("bind session: %w", err)
	}
	if id.IsZero() {
		got, err := dynamo.ReadItem(ctx, s.client, s.table, key(sessionID, skBinding))
		if err != nil {
			return txn.Identity{}, fmt.Errorf("read the session's binding: %w", err)
		}
		return decodeBinding(got)
	}
	item := key(sessionID, skBinding)
	for name, v := range map[string]string{attrOrderNo: id.OrderNo, attrReference: id.ReferenceNumber} {
		if v != "" {
			item[name] = dynamo.String(v)
		}
	}
	if authoritative {
		item[attrAuthoritative] = &types.AttributeValueMemberBOOL{Value: true}
		if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
			return txn.Identity{}, fmt.Errorf("bind session: %w", err)
		}
		return id, s.link(ctx, sessionID, id.ReferenceNumber)
	}
	written, got, err := s.putNewOrOld(ctx, item)
	if err != nil {
		return txn.Identity{}, fmt.Errorf("bind session: %w", err)
	}
	if written {
		return id, s.link(ctx, sessionID, id.ReferenceNumber)
	}
	if got == nil {
		// A DynamoDB that does not return the refused item: read it.
		if got, err = dynamo.ReadItem(ctx, s.client, s.table, key(sessionID, skBinding)); err != nil || got == nil {
			return txn.Identity{}, fmt.Errorf("read the session's binding: %w", errors.Join(err, txn.ErrNotFound))
		}
	}
	bound, err := decodeBinding(got)
	if err != nil {
		return bound, err
	}
	if bound.ReferenceNumber == "" && id.ReferenceNumber != "" && bound.Admits(id) {
		// Bound before a reference was known: the first callback that
		// signs one links it, so the payment's later notifications find
		// their session (SessionsOf).
		return bound, s.link(ctx, sessionID, id.ReferenceNumber)
	}
	return bound, nil
}

// link files, beside the operation notifications of the payment whose
// signed reference_number is ref (txn.RefKey), the session_id bound to it,
// so that a notification finds its payment's session_id (SessionsOf).
// Written again on every binding: an unconditional, idempotent PutItem.
func (s *Store) link(ctx context.Context, sessionID, ref string) error {
	if ref == "" || len(txn.RefKey(ref)) > maxIDBytes {
		return nil
	}
	item := key(txn.RefKey(ref), skSessionPrefix+sessionID)
	item[attrSessionID] = dynamo.String(sessionID)
	if _, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
		return fmt.Errorf("link the session to its reference_number: %w", err)
	}
	return nil
}

// SessionsOf lists the session_ids bound to the payment whose signed
// reference_number is ref (none when no inquiry or callback has bound one
// yet).
func (s *Store) SessionsOf(ctx context.Context, ref string) ([]string, error) {
	if ref == "" || len(txn.RefKey(ref)) > maxIDBytes {
		return nil, nil
	}
	return queryAll(ctx, s, txn.RefKey(ref), skSessionPrefix, nil, func(item map[string]types.AttributeValue) (string, error) {
		d := dynamo.NewDecoder(item, errCorruptItem)
		return d.RequiredString(attrSessionID), d.Err()
	})
}

// decodeBinding reads a binding item; none is the zero identity.
func decodeBinding(item map[string]types.AttributeValue) (txn.Identity, error) {
	if item == nil {
		return txn.Identity{}, nil
	}
	d := dynamo.NewDecoder(item, errCorruptItem)
	bound := txn.Identity{OrderNo: d.String(attrOrderNo), ReferenceNumber: d.String(attrReference)}
	return bound, d.Err()
}

// FirstReceived is when the delivery with e's digest was first stored.
func (s *Store) FirstReceived(ctx context.Context, e txn.Entry) (time.Time, error) {
	txnKey := entryKey(e.SessionID, e.OrderNo)
	if err := checkID("transaction id", txnKey); err != nil {
		return time.Time{}, fmt.Errorf("read the entry: %w", err)
	}
	item, err := dynamo.ReadItem(ctx, s.client, s.table, key(txnKey, skEntryPrefix+e.Digest))
	if err != nil {
		return time.Time{}, fmt.Errorf("read the entry: %w", err)
	}
	if item == nil {
		return time.Time{}, txn.ErrNotFound
	}
	d := dynamo.NewDecoder(item, errCorruptItem)
	t := d.RequiredTime(attrReceivedAt)
	return t, d.Err()
}

// Current returns the transaction's current view, found by session_id or
// order_no; txn.ErrNotFound when nothing is stored.
func (s *Store) Current(ctx context.Context, id string) (*txn.Entry, error) {
	if err := checkID("transaction id", id); err != nil {
		return nil, fmt.Errorf("read the current view: %w", err)
	}
	own, err := s.current(ctx, id)
	if err != nil && !errors.Is(err, txn.ErrNotFound) {
		return nil, err
	}
	if own != nil && (own.OrderNo == "" || own.OrderNo == id) {
		return own, nil
	}
	// Not filed under id, or filed under id as a session_id (a hint) with
	// another signed order_no: a transaction whose signed order_no is id
	// wins, so a callback re-posted with session_id set to another
	// transaction's order_no cannot answer for that transaction.
	txns, err := s.byOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(txns) == 0 && own != nil {
		return own, nil
	}
	var best *txn.Entry
	for _, txnKey := range txns {
		e, err := s.current(ctx, txnKey)
		if errors.Is(err, txn.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if best == nil || txn.OrderKey(*e) > txn.OrderKey(*best) {
			best = e
		}
	}
	if best == nil {
		if own != nil {
			return own, nil
		}
		return nil, txn.ErrNotFound
	}
	return best, nil
}

func (s *Store) current(ctx context.Context, txnKey string) (*txn.Entry, error) {
	item, err := dynamo.ReadItem(ctx, s.client, s.table, key(txnKey, skCurrent))
	if err != nil {
		return nil, fmt.Errorf("read the current view: %w", err)
	}
	if item == nil {
		return nil, txn.ErrNotFound
	}
	e, err := decodeEntry(item)
	if err != nil {
		return nil, fmt.Errorf("read the current view: %w", err)
	}
	return &e, nil
}

// byOrder lists the partitions whose current view names orderNo, through
// the keys-only index (eventually consistent, as every GSI: a view written
// a moment ago may not show yet).
func (s *Store) byOrder(ctx context.Context, orderNo string) ([]string, error) {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(indexOrder),
		KeyConditionExpression:    aws.String("#o = :o"),
		ExpressionAttributeNames:  map[string]string{"#o": attrOrderRef},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": dynamo.String(orderNo)},
		Limit:                     aws.Int32(10),
	})
	if err != nil {
		return nil, fmt.Errorf("find the transaction by order_no: %w", err)
	}
	txns := make([]string, 0, len(out.Items))
	for _, item := range out.Items {
		if v, ok := item[attrTxn].(*types.AttributeValueMemberS); ok && !slices.Contains(txns, v.Value) {
			txns = append(txns, v.Value)
		}
	}
	return txns, nil
}

// History returns the transaction's entries newest first (by ReceivedAt),
// at most limit of them (all when limit is 0 or less); found by session_id
// or order_no, txn.ErrNotFound when nothing is stored.
//
// Entries are keyed by digest, which is what makes a repeated delivery one
// conditional write; so they are read whole and sorted here. A
// transaction has a handful of them (Ottu allows three inquiries, and
// discloses on each).
func (s *Store) History(ctx context.Context, id string, limit int) ([]txn.Entry, error) {
	if err := checkID("transaction id", id); err != nil {
		return nil, fmt.Errorf("read the history: %w", err)
	}
	entries, err := s.entries(ctx, id)
	if err != nil {
		return nil, err
	}
	if !signedFor(entries, id) {
		// As in Current: a transaction whose signed order_no is id wins
		// over a partition that holds id only as a session_id hint.
		txns, err := s.byOrder(ctx, id)
		if err != nil {
			return nil, err
		}
		if len(txns) > 0 {
			entries = nil
		}
		for _, txnKey := range txns {
			more, err := s.entries(ctx, txnKey)
			if err != nil {
				return nil, err
			}
			entries = append(entries, more...)
		}
	}
	if entries, err = s.withNotifications(ctx, id, entries); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, txn.ErrNotFound
	}
	slices.SortFunc(entries, func(a, b txn.Entry) int {
		if c := b.ReceivedAt.Compare(a.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Digest, a.Digest)
	})
	if limit > 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	return entries, nil
}

// signedFor reports whether entries are filed under id by their signed
// order_no (or carry none): then no other partition is looked up.
func signedFor(entries []txn.Entry, id string) bool {
	if len(entries) == 0 {
		return false
	}
	for _, e := range entries {
		if e.OrderNo != "" && e.OrderNo != id {
			return false
		}
	}
	return true
}

// withNotifications adds to a transaction's entries the operation
// notifications filed under the reference_numbers they carry (Ottu signs
// only that identity on a notification: txn.RefKey).
func (s *Store) withNotifications(ctx context.Context, id string, entries []txn.Entry) ([]txn.Entry, error) {
	if txn.IsNotificationKey(id) {
		return entries, nil
	}
	var refs []string
	for _, e := range entries {
		if e.Conflict != "" {
			continue // another transaction's signed identity: its notifications are not this one's
		}
		if r := txn.ReferenceOf(e); r != "" && len(r) < maxIDBytes && !slices.Contains(refs, r) {
			refs = append(refs, r)
		}
	}
	for _, r := range refs {
		more, err := s.entries(ctx, txn.RefKey(r))
		if err != nil {
			return nil, err
		}
		entries = append(entries, more...)
	}
	return entries, nil
}

func (s *Store) entries(ctx context.Context, txnKey string) ([]txn.Entry, error) {
	entries, err := queryAll(ctx, s, txnKey, skEntryPrefix, nil, decodeEntry)
	if err != nil {
		return nil, fmt.Errorf("read the history: %w", err)
	}
	return entries, nil
}

// queryAll reads and decodes every item of txn whose sort key starts with
// prefix, with an optional filter, strongly consistent. It is a function,
// not a method, because a method cannot take the type parameter.
func queryAll[T any](ctx context.Context, s *Store, txnKey, prefix string, filter *filterExpr, decode func(map[string]types.AttributeValue) (T, error)) ([]T, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#txn = :txn AND begins_with(#sk, :prefix)"),
		ExpressionAttributeNames: map[string]string{"#txn": attrTxn, "#sk": attrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":txn": dynamo.String(txnKey), ":prefix": dynamo.String(prefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	if filter != nil {
		in.FilterExpression = aws.String(filter.text)
		maps.Copy(in.ExpressionAttributeNames, filter.names)
		maps.Copy(in.ExpressionAttributeValues, filter.values)
	}
	var all []T
	for range maxPages {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, item := range out.Items {
			v, err := decode(item)
			if err != nil {
				return nil, err
			}
			all = append(all, v)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return all, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	return nil, fmt.Errorf("more than %d pages of items under one transaction", maxPages)
}

type filterExpr struct {
	text   string
	names  map[string]string
	values map[string]types.AttributeValue
}

// waiterKey is where a waiter is filed: like an entry, under its
// session_id, else its order_no.
func waiterKey(w txn.Waiter) (map[string]types.AttributeValue, error) {
	if w.TaskToken == "" {
		return nil, fmt.Errorf("%w: the waiter has no task token", ErrInvalidInput)
	}
	txnKey := entryKey(w.SessionID, w.OrderNo)
	if err := checkID("waiter's session_id or order_no", txnKey); err != nil {
		return nil, err
	}
	return key(txnKey, skWaiterPrefix+w.ID()), nil
}

// AddWaiter registers w as pending. Registering the same token again (a
// retried inquiry invocation) changes nothing, whatever its status.
func (s *Store) AddWaiter(ctx context.Context, w txn.Waiter) error {
	wk, err := waiterKey(w)
	if err != nil {
		return fmt.Errorf("register waiter: %w", err)
	}
	createdAt := w.CreatedAt
	if createdAt.IsZero() {
		createdAt = s.now()
	}
	item := map[string]types.AttributeValue{
		attrTaskToken: dynamo.String(w.TaskToken),
		attrStatus:    dynamo.String(string(txn.WaiterPending)),
		attrCreatedAt: dynamo.Time(createdAt),
		attrUpdatedAt: dynamo.Time(createdAt),
	}
	for name, v := range map[string]string{attrSessionID: w.SessionID, attrOrderNo: w.OrderNo, attrAmount: w.Amount, attrPayment: w.Payment} {
		if v != "" {
			item[name] = dynamo.String(v)
		}
	}
	if !w.ExpiresAt.IsZero() {
		item[attrExpiresAt] = dynamo.UnixSeconds(w.ExpiresAt)
	}
	maps.Copy(item, wk)
	if _, err := s.putNew(ctx, item); err != nil {
		return fmt.Errorf("register waiter: %w", err)
	}
	return nil
}

// Waiters lists the waiters filed under id (a session_id or order_no) that
// a delivery may resume: pending ones, and resuming ones whose claim lease
// has run out (their resume crashed); never expired ones. One strongly
// consistent Query, so a waiter registered a moment ago is seen.
func (s *Store) Waiters(ctx context.Context, id string) ([]txn.Waiter, error) {
	if err := checkID("transaction id", id); err != nil {
		return nil, fmt.Errorf("list waiters: %w", err)
	}
	now := s.now()
	filter := &filterExpr{
		text: "(#st = :pending OR (#st = :resuming AND #cu < :nowms)) AND (attribute_not_exists(#exp) OR #exp > :now)",
		names: map[string]string{
			"#st": attrStatus, "#cu": attrClaimedUntil, "#exp": attrExpiresAt,
		},
		values: map[string]types.AttributeValue{
			":pending":  dynamo.String(string(txn.WaiterPending)),
			":resuming": dynamo.String(string(txn.WaiterResuming)),
			":nowms":    dynamo.Number(now.UnixMilli()),
			":now":      dynamo.Number(now.Unix()),
		},
	}
	waiters, err := queryAll(ctx, s, id, skWaiterPrefix, filter, decodeWaiter)
	if err != nil {
		return nil, fmt.Errorf("list waiters: %w", err)
	}
	return waiters, nil
}

// ClaimWaiter moves w from pending (or from a resuming claim whose lease
// ran out) to resuming, in one conditional write: of any number of
// concurrent claims exactly one succeeds; the others get
// txn.ErrClaimed, as does a claim of a waiter that is gone.
func (s *Store) ClaimWaiter(ctx context.Context, w txn.Waiter, now time.Time) error {
	k, err := waiterKey(w)
	if err != nil {
		return fmt.Errorf("claim waiter: %w", err)
	}
	u := dynamo.NewUpdate()
	u.SetValue(attrStatus, dynamo.String(string(txn.WaiterResuming)))
	u.SetValue(attrClaimedUntil, dynamo.Number(now.Add(ClaimLease).UnixMilli()))
	u.SetValue(attrUpdatedAt, dynamo.Time(now))
	st, cu := u.Name(attrStatus), u.Name(attrClaimedUntil)
	cond := "attribute_exists(" + u.Name(attrSK) + ") AND (" +
		st + " = " + u.Value("pending", dynamo.String(string(txn.WaiterPending))) + " OR (" +
		st + " = " + u.Value("resuming", dynamo.String(string(txn.WaiterResuming))) + " AND " + cu + " < " + u.Value("nowms", dynamo.Number(now.UnixMilli())) + "))"
	if err := s.updateWaiter(ctx, u, k, cond); err != nil {
		return fmt.Errorf("claim waiter: %w", err)
	}
	return nil
}

// FinishWaiter records how the claimed waiter ended: resumed, gone, or
// pending again after a transient failure (a later delivery retries it).
// Only a waiter still resuming is changed; otherwise txn.ErrClaimed
// (its claim lease ran out and another delivery took it over).
func (s *Store) FinishWaiter(ctx context.Context, w txn.Waiter, status txn.WaiterStatus, now time.Time) error {
	k, err := waiterKey(w)
	if err != nil {
		return fmt.Errorf("finish waiter: %w", err)
	}
	switch status {
	case txn.WaiterPending, txn.WaiterResumed, txn.WaiterGone:
	default:
		return fmt.Errorf("finish waiter: %w: status %q is not pending, resumed or gone", ErrInvalidInput, status)
	}
	u := dynamo.NewUpdate()
	u.SetValue(attrStatus, dynamo.String(string(status)))
	u.SetValue(attrUpdatedAt, dynamo.Time(now))
	u.Remove(attrClaimedUntil)
	cond := u.Name(attrStatus) + " = " + u.Value("resuming", dynamo.String(string(txn.WaiterResuming)))
	if err := s.updateWaiter(ctx, u, k, cond); err != nil {
		return fmt.Errorf("finish waiter: %w", err)
	}
	return nil
}

// updateWaiter sends one conditional update of a waiter. A refused
// condition means another delivery claimed or finished the waiter, or it
// is gone: txn.ErrClaimed.
func (s *Store) updateWaiter(ctx context.Context, u *dynamo.Update, k map[string]types.AttributeValue, cond string) error {
	_, err := s.client.UpdateItem(ctx, u.Input(s.table, k, cond))
	if dynamo.IsConditionFailed(err) {
		return txn.ErrClaimed
	}
	return err
}
