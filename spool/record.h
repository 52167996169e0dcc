/*
 * record.h: the unit the two halves exchange: one signed XML document per
 * file, valid against schemas/record.xsd.
 *
 * Contract
 *   - A struct record is the decoded, verified form.  Text fields are
 *     NUL-terminated UTF-8 owned by the record (record_free releases
 *     them); optional text is NULL when absent.
 *   - record_encode() fills the envelope's created time if empty, builds
 *     the XML, validates it against the embedded record.xsd, signs the
 *     canonical form (exclusive XML C14N of the document without its
 *     <signature> element) with Ed25519, and returns the file bytes: an
 *     XML declaration, then that canonical form with the <signature>
 *     element back in its place (which is the canonical form of the
 *     whole document) and a final newline.  It refuses (ERR_PERM) a
 *     record that would not validate, so nothing invalid is ever written.
 *   - record_decode() is pure: bytes in, struct out.  It parses with
 *     libxml2 with network access, DTD loading and entity expansion off,
 *     validates against the XSD, checks the format version, verifies the
 *     signature against the given public key, and only then fills the
 *     struct.  Every failure is ERR_PERM with a reason naming the first
 *     problem (line number for XML/XSD errors); the caller decides whether
 *     a file that may still be arriving deserves a retry.
 *   - record_file_name() is the canonical file name: the zero-padded
 *     sequence first so names sort in sequence order, then the producer.
 *
 * Details of the format (schemas/record.xsd has the document itself)
 *   - The canonical form keeps comments, so everything in the document
 *     except the signature value is signed.  A record with a DTD
 *     (<!DOCTYPE>) is refused before any declaration in it is read.
 *   - Records are UTF-8; a declared encoding is ignored.  Text that is
 *     not valid UTF-8 is refused by record_encode; C0 control characters
 *     other than tab, CR and LF, which XML 1.0 cannot carry, are replaced
 *     by U+FFFD.  Absent optional text decodes as NULL, empty text as "".
 *   - The signing key's id travels in <signature key-id="...">, so a
 *     record from another key fails with "signed by key X, expected Y"
 *     and an altered one with "bad signature".
 */
#ifndef SCFGATE_RECORD_H
#define SCFGATE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "sig.h"

#define RECORD_FORMAT_VERSION 1
/* Producer ids: [a-z0-9][a-z0-9_-]{0,31}; they appear in file names. */
#define RECORD_PRODUCER_MAX 32
/* Largest record file accepted from a spool or bundle. */
#define RECORD_MAX_BYTES ((size_t)4 * 1024 * 1024)
/* "<20 digits>-<producer>.xml" */
#define RECORD_NAME_MAX (20 + 1 + RECORD_PRODUCER_MAX + 4 + 1)

enum record_kind {
	RECORD_ISSUE = 1,  /* outbound: a new SCF issue to create in Cartegraph */
	RECORD_COMMENT,    /* outbound: a new public comment on a tracked issue */
	RECORD_ATTACHMENT, /* outbound: a media URL (issue or comment photo) */
	RECORD_ACK,        /* inbound: Cartegraph accepted the request */
	RECORD_CLOSE,      /* inbound: the Cartegraph request was closed */
	RECORD_CENSUS,     /* outbound: one part of a census of the SCF issues */
	RECORD_RESEND,     /* inbound: re-commit these issues' records once */
	RECORD_RECONCILE,  /* inbound: one part of a reconciliation's result */
};
/* The last kind, for loops over every kind. */
#define RECORD_KIND_LAST RECORD_RECONCILE

/* Entries of a census part, ids of a resend, findings of a reconcile
 * part: at most this many per record, so a part stays far under
 * RECORD_MAX_BYTES (about 600 bytes an entry) and a reader holds one
 * part at a time, never a whole census. */
#define RECORD_PART_MAX 2000
/* Census ids: [A-Za-z0-9._-]{1,64}; they appear in keys and file names. */
#define RECORD_CENSUS_ID_MAX 64

struct record_qa {
	char *question;
	char *answer; /* "No Answer Given" is kept verbatim */
};

struct record_comment {
	int64_t issue_id;
	char *comment_id;     /* from flag_url, or "h-<hex>" fallback key */
	char *created_at;     /* RFC 3339 as SCF sent it */
	int64_t commenter_id; /* 0 when anonymous */
	char *commenter_name;
	char *text;
	int is_system;     /* "... assigned this issue to ..." and similar */
	char *media_url;   /* comment photo (image_full), or NULL */
	char *source_json; /* verbatim comment JSON, or NULL */
};

struct record_issue {
	int64_t issue_id;
	/* 0: the issue's first request.  n >= 2: the nth, sent when the issue
	 * was reopened in SCF after its request was closed (reopen policy
	 * recreate); the key is then "issue/<id>/<n>" and the OMS half creates
	 * a new request instead of finding the closed one. */
	int64_t generation;
	int64_t request_type_id;
	char *request_type_title;
	char *status; /* SCF status when fetched ("Open") */
	char *summary;
	char *description; /* reporter's text; NULL when SCF sent null */
	double lat;
	double lng;
	char *address;
	int64_t reporter_id;
	char *reporter_name;
	char *created_at;
	char *updated_at;
	char *html_url;
	char *media_url; /* media.image_full, never representative_image_url */
	size_t n_questions;
	struct record_qa *questions;
	size_t n_comments;               /* public comments at first sight, */
	struct record_comment *comments; /* sent with the create, not again */
	char *source_json;               /* verbatim issue JSON */
};

struct record_attachment {
	int64_t issue_id;
	char *comment_id; /* NULL for the issue's own photo */
	char *url;
	char *content_type; /* optional hint ("image/jpeg"), or NULL */
};

struct record_ack {
	int64_t issue_id;
	int64_t oid;      /* Cartegraph Oid */
	char *request_id; /* Cartegraph IDField */
	int64_t request_type_id;
	char *request_type_title; /* for message placeholders, or NULL */
	char *accepted_at;
};

struct record_close {
	int64_t issue_id;
	int64_t oid;
	char *request_id;
	int64_t request_type_id; /* picks the per-category closing message */
	char *request_type_title;
	char *oms_status; /* the Cartegraph status value seen ("Closed") */
	char *closed_at;
	char *source_json; /* the Cartegraph record as polled, or NULL */
};

/* One issue as the census saw it in SCF, and what the SCF half believes. */
struct record_census_entry {
	int64_t issue_id;
	char *status; /* SCF's word: Open, Acknowledged, Closed or Archived */
	int64_t request_type_id;
	char *updated_at;
	double lat;
	double lng;
	char *html_url;     /* or NULL */
	int64_t generation; /* as in record_issue: 0 (absent) or 2.. */
	int sent;           /* its issue record was committed */
	int acknowledged;   /* the ack was written back to SCF */
	int closed;         /* the close was written back to SCF */
};

/* Key "census/<census_id>/<part>".  Parts count from 1; the last has
 * last = 1.  A census without issues is one part with no entries. */
struct record_census {
	char *census_id;
	int64_t part;
	int last;
	char *window_from; /* RFC 3339: issues updated in [from, to] */
	char *window_to;
	size_t n_request_types; /* the mapped request types covered */
	int64_t *request_type_ids;
	size_t n_entries; /* at most RECORD_PART_MAX */
	struct record_census_entry *entries;
};

/* Key "resend/<census_id>/<part>": the SCF half re-commits each issue's
 * record once, key "issue/<id>/resend/<census_id>". */
struct record_resend {
	char *census_id;
	int64_t part;
	size_t n_issues; /* 1 to RECORD_PART_MAX */
	int64_t *issue_ids;
};

/* One issue or request a reconciliation found out of sync. */
struct record_finding {
	char *cls; /* "missing", "missed-close", "orphan", "drift", "duplicate" */
	int64_t issue_id;
	char *scf_status; /* or NULL: not in the census (gone from SCF) */
	int64_t oid;      /* 0 (absent) when there is no request */
	char *request_id; /* Cartegraph IDField, or NULL */
	char *oms_status; /* or NULL */
	char *detail;     /* short text: what differs */
};

/* Key "reconcile/<census_id>/<part>": the counts are the whole
 * reconciliation's (the same in every part); in-sync issues are counted,
 * not listed. */
struct record_reconcile {
	char *census_id;
	int64_t part;
	int last;
	int64_t in_sync;
	int64_t missing;
	int64_t missed_close;
	int64_t orphan;
	int64_t drift;
	int64_t duplicate;
	size_t n_findings; /* at most RECORD_PART_MAX */
	struct record_finding *findings;
};

struct record {
	unsigned format_version;
	char producer[RECORD_PRODUCER_MAX + 1];
	uint64_t seq;
	enum record_kind kind;
	char created[40]; /* RFC 3339 UTC, set by record_encode if empty */
	char *key;        /* idempotency key, e.g. "issue/123", "comment/123/456" */
	union {
		struct record_issue issue;
		struct record_comment comment;
		struct record_attachment attachment;
		struct record_ack ack;
		struct record_close close;
		struct record_census census;
		struct record_resend resend;
		struct record_reconcile reconcile;
	} u;
};

/* A zeroed record of the given kind (format version set), or NULL. */
struct record *record_new(enum record_kind kind);
void record_free(struct record *r);
/* A deep copy (record_free), or NULL when out of memory. */
struct record *record_dup(const struct record *r);

/* "issue", "comment", "attachment", "ack", "close", "census", "resend",
 * "reconcile"; NULL if invalid. */
const char *record_kind_name(enum record_kind kind);
/* The queue a kind travels in: "outbound" (issue, comment, attachment,
 * census: SCF half to OMS half) or "inbound" (ack, close, resend,
 * reconcile); NULL for no kind. */
const char *record_kind_queue(enum record_kind kind);
/* The inverse; 0 when unknown. */
enum record_kind record_kind_from_name(const char *name);
/* 1 for the outbound kinds, 0 for the inbound ones. */
int record_kind_is_outbound(enum record_kind kind);
/* The SCF issue a record is about: issue_id of an issue, comment,
 * attachment, ack or close; 0 for census, resend and reconcile, which
 * concern many issues or none. */
int64_t record_issue_id(const struct record *r);

/* 1 if s is a valid producer id. */
int record_producer_valid(const char *s);
/* 1 if s is a valid census id. */
int record_census_id_valid(const char *s);

/* The key of part `part` of a census, resend or reconcile record
 * ("census/<id>/<part>", "resend/<id>/<part>", "reconcile/<id>/<part>")
 * into out; ERR_PERM for another kind, an invalid census id or a part
 * below 1. */
enum err_status record_part_key(char *out, size_t size, enum record_kind kind,
                                const char *census_id, int64_t part, struct err *e);
/* The key of the issue record a resend re-commits:
 * "issue/<issue_id>/resend/<census_id>". */
enum err_status record_resend_issue_key(char *out, size_t size, int64_t issue_id,
                                        const char *census_id, struct err *e);
/* The census id of a key "issue/<id>/resend/<census_id>" (a pointer into
 * key), or NULL for any other key. */
const char *record_key_resend_census(const char *key);

/* Canonical file name into out (RECORD_NAME_MAX bytes). */
void record_file_name(char out[RECORD_NAME_MAX], uint64_t seq, const char *producer);
/* Parse a canonical name; 0 on success, -1 if the name is not ours. */
int record_parse_file_name(const char *name, uint64_t *seq, char producer[RECORD_PRODUCER_MAX + 1]);

/* Serialize, validate and sign.  out receives the file bytes. */
enum err_status record_encode(struct record *r, const struct sig_key *key, struct buf *out,
                              struct err *e);

/* Parse, validate, verify.  On success *out is a new record (record_free).
 * pub may be NULL only for inspection tools, which then must call
 * record_decode_unverified below instead; record_decode rejects NULL. */
enum err_status record_decode(const char *bytes, size_t len, const struct sig_key *pub,
                              struct record **out, struct err *e);

/* Parse and validate without a key (for `spool show` of a record whose
 * key is unknown); the signature is not checked.  Never use the result
 * to act. */
enum err_status record_decode_unverified(const char *bytes, size_t len, struct record **out,
                                         struct err *e);

/* The embedded schemas/record.xsd text (for tools that print it). */
extern const char record_xsd_text[];

#endif
