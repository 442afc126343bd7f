DROP TABLE payment_plans;
