/* Guided intake on the call-taker desk (issue 14): filled by its own work. */
"use strict";
