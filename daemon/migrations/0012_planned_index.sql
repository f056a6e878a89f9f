-- The planned-items queries ("which meetings have planned items", "the
-- planned items after this meeting") ask by state first. With only
-- items_meeting (meeting, state) SQLite reads every item of ten years to
-- answer them, on every pass; with this index it reads only the planned ones.
CREATE INDEX items_state_meeting ON items (state, meeting);
