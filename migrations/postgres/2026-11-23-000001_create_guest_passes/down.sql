DROP TABLE checkins;
DROP TABLE guest_passes;
DROP TABLE clients;
DROP TABLE locations;
DROP TABLE chains;
