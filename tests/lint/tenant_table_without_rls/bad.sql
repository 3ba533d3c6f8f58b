CREATE TABLE invoices (
  id uuid PRIMARY KEY,
  organization_id uuid NOT NULL,
  amount numeric NOT NULL
);
