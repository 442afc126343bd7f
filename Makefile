# The everyday checks and the fault-injection suite (docs/reliability.md).

GO ?= go
SHELL := bash
.SHELLFLAGS := -o pipefail -c
# The chaos suite's database-outage test needs a PostgreSQL server it may
# create databases on; the other tests use SQLite.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
FUZZTIME ?= 30s

# What the chaos suite runs: the build-tagged tests (worker SIGKILLs, the
# dev stack killed and restarted, the database cut away) plus the ordinary
# fault tests (races, webhook chaos, provider faults, hostile input) and
# every fuzz target's corpus, and the earlier tests these faults extend
# (codec, keys, two workers, graceful restart, payment webhooks, retried sends).
CHAOS_RUN = Chaos|Races|Production|ProviderFault|Hostile|AcceptThenHang|WhileASend|IsUnavailable|PendingClaim|Fuzz|WithTheCodecOn|EveryRouteButHealth|TwoWorkersShare|RestartKeeps|PaymentWebhooksAreVerified|ARetriedSend|RacingAttempts|ACrashAfter
CHAOS_PKGS = ./activities ./db ./api ./hooks ./templates ./webhooks ./policy ./money ./internal/devstack

# The packages whose code runs concurrently, under the race detector.
RACE_PKGS = ./activities ./db ./api ./hooks ./collect ./workflows ./webhooks ./internal/app

.PHONY: test check chaos fuzz race

test:
	$(GO) test ./...

check:
	test -z "$$(gofmt -l .)"
	$(GO) vet ./...
	$(GO) vet -tags chaos ./internal/devstack
	$(GO) tool workflowcheck ./workflows/...

race:
	$(GO) test -race -count=1 -timeout 30m $(RACE_PKGS)

chaos:
	TEST_DATABASE_URL='$(TEST_DATABASE_URL)' $(GO) test -tags chaos -count=1 -timeout 20m -v -run '$(CHAOS_RUN)' $(CHAOS_PKGS) 2>&1 \
		| grep -aE '^(=== RUN|--- |PASS|FAIL|ok|panic)|CHAOS|_test.go:[0-9]+:'

# Each fuzz target for FUZZTIME; failing inputs land in the package's
# testdata/fuzz, which is committed.
fuzz:
	$(GO) test ./api -run '^$$' -fuzz '^FuzzDecodeRequests$$' -fuzztime $(FUZZTIME)
	$(GO) test ./api -run '^$$' -fuzz '^FuzzImportInvoicesCSV$$' -fuzztime $(FUZZTIME)
	$(GO) test ./hooks -run '^$$' -fuzz '^FuzzPaymentsWebhook$$' -fuzztime $(FUZZTIME)
	$(GO) test ./hooks -run '^$$' -fuzz '^FuzzStripeWebhook$$' -fuzztime $(FUZZTIME)
	$(GO) test ./hooks -run '^$$' -fuzz '^FuzzTwilioWebhooks$$' -fuzztime $(FUZZTIME)
	$(GO) test ./hooks -run '^$$' -fuzz '^FuzzStripeObject$$' -fuzztime $(FUZZTIME)
	$(GO) test ./webhooks -run '^$$' -fuzz '^FuzzParseSendGridEvents$$' -fuzztime $(FUZZTIME)
	$(GO) test ./policy -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./policy -run '^$$' -fuzz '^FuzzCalendarNext$$' -fuzztime $(FUZZTIME)
	$(GO) test ./templates -run '^$$' -fuzz '^FuzzTemplateData$$' -fuzztime $(FUZZTIME)
	$(GO) test ./money -run '^$$' -fuzz '^FuzzParseAmount$$' -fuzztime $(FUZZTIME)
