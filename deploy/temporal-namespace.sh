#!/bin/sh
# Runs once the Temporal server answers: creates the namespace the
# collections engine uses and registers the workflows' custom search
# attributes (workflows/names.go, SearchAttributes), so the Web UI can filter
# invoices by them from the first minute. Safe on every start: what exists is
# left alone. (The worker also registers missing attributes when it starts;
# this job makes the stack complete before the worker is up.)
set -eu
: "${TEMPORAL_ADDRESS:?}" "${TEMPORAL_NAMESPACE:?}"
retention="${TEMPORAL_NAMESPACE_RETENTION:-720h}"

until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
	echo "temporal-namespace: waiting for $TEMPORAL_ADDRESS"
	sleep 2
done

if ! temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
	temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$retention" --address "$TEMPORAL_ADDRESS"
fi

existing=$(temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS")
register() {
	if echo "$existing" | grep -qw "$1"; then
		return
	fi
	temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --address "$TEMPORAL_ADDRESS" --name "$1" --type "$2"
}
# Keep in step with workflows.SearchAttributes (internal/deploy tests check).
register InvoiceNumber Keyword
register InvoiceStage Keyword
register CustomerId Keyword
register AmountDueMinor Int
register Currency Keyword
register DueDate Datetime
register AccountManager Keyword
register PolicyName Keyword
echo "temporal-namespace: $TEMPORAL_NAMESPACE ready"
