--
-- PostgreSQL database dump
--

\restrict ZFulhWw82W4Nh3ghnIT2kXaBpWjHupgiPpn61HJDxnVS5XOQQRYQa2rhfXM3iRb

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: patients; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.patients (
    id integer NOT NULL,
    first_name text,
    last_name text,
    ssn text,
    dob date,
    phone text,
    email text,
    note text,
    scan bytea
);


--
-- Name: visits; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.visits (
    visit_id integer,
    patient_id integer,
    reason text
);


--
-- Data for Name: patients; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.patients (id, first_name, last_name, ssn, dob, phone, email, note, scan) FROM stdin;
1	Maria	Lopez	219-09-9999	1957-04-12	(415) 555-2671	maria.lopez@example.org	Seen 03/14/2024.\nCall back re: results\tSSN 536-22-1837	\\x50617469656e742053534e203430312d33332d32373631
2	Tomás	O'Brien	\N	1961-07-02	617-555-4411	tobrien@example.com	quote ' and backslash \\ here	\N
3	Wei	Chen	401-33-2761	1988-02-14	\N	wei.chen@example.net	no PHI in this note	\\x00ff
\.


--
-- Data for Name: visits; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.visits (visit_id, patient_id, reason) FROM stdin;
10	1	follow-up
11	3	mail jo@clinic.example
\.


--
-- Name: patients patients_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.patients
    ADD CONSTRAINT patients_pkey PRIMARY KEY (id);


--
-- Name: patients ssn_unique; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.patients
    ADD CONSTRAINT ssn_unique UNIQUE (ssn);


--
-- PostgreSQL database dump complete
--

\unrestrict ZFulhWw82W4Nh3ghnIT2kXaBpWjHupgiPpn61HJDxnVS5XOQQRYQa2rhfXM3iRb

