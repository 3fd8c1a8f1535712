//! Diesel's view of the tables; one definition fits both backends' migrations.

diesel::table! {
    chains (id) {
        id -> Text,
        name -> Text,
        secret_salt -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        disabled_at -> Nullable<BigInt>,
        demo -> Bool,
    }
}

diesel::table! {
    locations (id) {
        id -> Text,
        chain_id -> Text,
        name -> Text,
        secret_salt -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        disabled_at -> Nullable<BigInt>,
        demo -> Bool,
    }
}

diesel::table! {
    clients (id) {
        id -> Text,
        secret_salt -> Text,
        secret_hash -> Text,
        created_at -> BigInt,
        disabled_at -> Nullable<BigInt>,
        demo -> Bool,
    }
}

diesel::table! {
    guest_passes (id) {
        id -> Text,
        chain_id -> Text,
        location_id -> Text,
        first_name -> Text,
        last_name -> Text,
        email -> Text,
        email_key -> Text,
        phone -> Nullable<Text>,
        valid_from -> BigInt,
        valid_until -> BigInt,
        checkin_code -> Text,
        created_at -> BigInt,
        created_by -> Nullable<Text>,
        cancelled_at -> Nullable<BigInt>,
        cancelled_by -> Nullable<Text>,
    }
}

diesel::table! {
    checkins (id) {
        id -> Text,
        guest_pass_id -> Text,
        location_id -> Text,
        checked_in_at -> BigInt,
    }
}

diesel::joinable!(locations -> chains (chain_id));
diesel::joinable!(guest_passes -> locations (location_id));
diesel::joinable!(checkins -> guest_passes (guest_pass_id));
diesel::allow_tables_to_appear_in_same_query!(
    chains,
    locations,
    clients,
    guest_passes,
    checkins,
    idempotency_keys
);

diesel::table! {
    idempotency_keys (principal, operation, idempotency_key) {
        principal -> Text,
        operation -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        status -> Integer,
        body -> Binary,
        location -> Nullable<Text>,
        created_at -> BigInt,
    }
}
