//! Structure inside free text: HL7 v2 segments, DICOM header dumps and
//! `key=value` pairs. The text scan reads them to give values their
//! field's meaning (a name in `PID-5`, a date under `(0010,0030)`, an MRN
//! after `patient_mrn=`).

pub(crate) mod dicom;
pub(crate) mod hl7;
pub(crate) mod kv;
