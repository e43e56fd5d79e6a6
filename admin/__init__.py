"""Admin of the centre's data (issue 14): teams, the agency directory, hotline lines and intake
categories, each with a page, CSV import (all or nothing, per-line errors) and export, every
change audited. The rows stay in the packages that use them (dispatch, cases, telephony);
this package is the desk that keeps them."""
