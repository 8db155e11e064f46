-- The language a person chose for the app and for the mails Hearth sends them (a catalogue
-- language such as 'de'); NULL until they choose or sign up with one. Kept in step across backends.
ALTER TABLE users ADD COLUMN locale TEXT;
