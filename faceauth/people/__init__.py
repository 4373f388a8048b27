"""The people directory (/people/): admins onboard, edit, offboard and reactivate people, hand
out enrolment links, import and export CSV; managers read their department. It shows data of
several apps, so it lives in the wiring layer and reads each app through its selectors."""
