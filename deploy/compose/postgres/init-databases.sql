-- One database per service (each service owns its schema and runs its migrations at start; no
-- service reads another's database). Run once by the postgres image, on an empty data folder.
-- gateway keeps no data; hits counts in Redis in this deployment.
CREATE DATABASE auth;
CREATE DATABASE users;
CREATE DATABASE orders;
CREATE DATABASE products;
CREATE DATABASE payments;
CREATE DATABASE notifier;
CREATE DATABASE cars;
CREATE DATABASE agenda;
