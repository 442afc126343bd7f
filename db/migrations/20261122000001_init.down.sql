DROP TABLE messages;
--bun:split
DROP TABLE payments;
--bun:split
DROP TABLE invoices;
--bun:split
DROP TABLE customers;
