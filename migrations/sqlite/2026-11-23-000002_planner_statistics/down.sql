DELETE FROM sqlite_stat1 WHERE tbl IN ('guest_passes', 'checkins');
