package collect

// invoiceStore is what creating invoices, payments, refunds and provider
// events need of the database.
type invoiceStore interface {
}
