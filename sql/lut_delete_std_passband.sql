-- Empties std_passband before make-lut writes the new standard system.
DELETE FROM std_passband
