"""The Basic Application Confidentiality Profile (PS3.15 Annex E, Table E.1-1) as applied
to what leaves the platform for a reader outside the patient's network.

Options chosen (and named in the output's De-identification Method Code Sequence):

* Retain Longitudinal Temporal Information with Full Dates (113106): study, series,
  acquisition and content dates and times are kept. A reader compares with priors by date and
  QIDO date matching keeps working; the birth date is still removed.
* Retain Patient Characteristics (113108): sex, age, size, weight, pregnancy and smoking
  status are kept, because reading a study needs them.

Where the table allows a choice (X/Z, X/D, Z/D, X/Z/D) the action that keeps the object
valid without knowing its IOD is taken: Z for X/Z, Z/D and X/Z/D, D for X/D. Beyond the
table, and stricter than it: every UID that is not a registered DICOM UID is replaced
(whatever attribute holds it), every person name not listed is emptied, private elements,
overlays, curves and group lengths are removed. The rules apply at every depth of sequences.

Out of scope: identity burned into the pixels (annotations drawn by the modality) and in
free text of Structured Report content items beyond removing Content Sequence. Pixel data is
passed through byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID_dictionary

# Actions of Table E.1-1: D dummy, Z zero length, X remove, U replace the UID consistently.
DUMMY, EMPTY, REMOVE, UID = "D", "Z", "X", "U"

_REMOVE = """
AcquisitionComments AcquisitionContextSequence AcquisitionProtocolDescription
ActualHumanPerformersSequence AdditionalPatientHistory AddressTrial AdmissionID
AdmittingDiagnosesCodeSequence AdmittingDiagnosesDescription Allergies Arbitrary
AuthorObserverSequence BranchOfService CassetteID CommentsOnThePerformedProcedureStep
ConfidentialityConstraintOnPatientDataDescription ConsultingPhysicianName
ConsultingPhysicianIdentificationSequence ContentCreatorIdentificationCodeSequence
ContentSequence ContributionDescription CountryOfResidence CurrentPatientLocation
CustodialOrganizationSequence DataSetTrailingPadding DerivationDescription DetectorID
DeviceSerialNumber DigitalSignaturesSequence DischargeDiagnosisDescription
DistributionAddress DistributionName EthnicGroup FrameComments GantryID GeneratorID
HumanPerformerName HumanPerformerOrganization IconImageSequence IdentifyingComments
ImageComments ImagePresentationComments ImagingServiceRequestComments Impressions
InstitutionAddress InstitutionalDepartmentName InstitutionalDepartmentTypeCodeSequence
InsurancePlanIdentification IntendedRecipientsOfResultsIdentificationSequence
InterpretationApproverSequence InterpretationAuthor InterpretationDiagnosisDescription
InterpretationIDIssuer InterpretationRecorder InterpretationText InterpretationTranscriber
IssuerOfAdmissionID IssuerOfPatientID IssuerOfPatientIDQualifiersSequence
IssuerOfServiceEpisodeID MAC MedicalAlerts MedicalRecordLocator MilitaryRank
ModifiedAttributesSequence ModifiedImageDescription ModifyingDeviceID
ModifyingDeviceManufacturer NameOfPhysiciansReadingStudy NamesOfIntendedRecipientsOfResults
Occupation OperatorIdentificationSequence OrderCallbackPhoneNumber OrderEnteredBy
OrderEntererLocation OriginalAttributesSequence OtherPatientIDs OtherPatientIDsSequence
OtherPatientNames ParticipantSequence PatientAddress PatientBirthName PatientBirthTime
PatientComments PatientInsurancePlanCodeSequence PatientMotherBirthName
PatientPrimaryLanguageCodeSequence PatientPrimaryLanguageModifierCodeSequence
PatientReligiousPreference PatientState PatientTelecomInformation PatientTelephoneNumbers
PatientTransportArrangements PerformedLocation PerformedProcedureStepDescription
PerformedProcedureStepID PerformedStationAETitle
PerformedStationGeographicLocationCodeSequence PerformedStationName
PerformedStationNameCodeSequence PerformingPhysicianIdentificationSequence
PerformingPhysicianName PersonAddress PersonTelecomInformation PersonTelephoneNumbers
PhysicianApprovingInterpretation PhysiciansOfRecord PhysiciansOfRecordIdentificationSequence
PhysiciansReadingStudyIdentificationSequence PlateID PreMedication ProtocolName
ReasonForTheImagingServiceRequest ReasonForStudy ReferencedDigitalSignatureSequence
ReferencedPatientAliasSequence ReferencedPatientPhotoSequence ReferencedPatientSequence
ReferencedPerformedProcedureStepSequence ReferencedSOPInstanceMACSequence
ReferencedStudySequence ReferringPhysicianAddress ReferringPhysicianIdentificationSequence
ReferringPhysicianTelephoneNumbers RegionOfResidence RequestAttributesSequence
RequestedContrastAgent RequestedProcedureComments RequestedProcedureDescription
RequestedProcedureID RequestedProcedureLocation RequestingPhysician
RequestingPhysicianIdentificationSequence RequestingService ResponsibleOrganization
ResponsiblePerson ResultsComments ResultsDistributionListSequence ResultsIDIssuer
ScheduledHumanPerformersSequence ScheduledPatientInstitutionResidence
ScheduledPerformingPhysicianIdentificationSequence ScheduledPerformingPhysicianName
ScheduledProcedureStepDescription ScheduledProcedureStepID ScheduledProcedureStepLocation
ScheduledStationAETitle ScheduledStationGeographicLocationCodeSequence ScheduledStationName
ScheduledStationNameCodeSequence ScheduledStudyLocation ScheduledStudyLocationAETitle
SeriesDescription ServiceEpisodeDescription ServiceEpisodeID SourceApplicationEntityTitle
SpecialNeeds StudyComments StudyDescription StudyIDIssuer TextComments TextString
TimezoneOffsetFromUTC TopicAuthor TopicKeywords TopicSubject TopicTitle VerifyingOrganization
VisitComments PrivateInformation PrivateInformationCreatorUID
"""

_EMPTY = """
AccessionNumber ContentCreatorName FillerOrderNumberImagingServiceRequest
InstitutionCodeSequence InstitutionName OperatorsName PatientBirthDate PatientID PatientName
PlacerOrderNumberImagingServiceRequest ReferringPhysicianName ReviewerName StationName
StudyID VerifyingObserverIdentificationCodeSequence
"""

_DUMMY = """
GraphicAnnotationSequence PersonIdentificationCodeSequence PersonName VerifyingObserverName
VerifyingObserverSequence ContainerIdentifier
"""

ACTIONS: dict[str, str] = {
    **{keyword: REMOVE for keyword in _REMOVE.split()},
    **{keyword: EMPTY for keyword in _EMPTY.split()},
    **{keyword: DUMMY for keyword in _DUMMY.split()},
}

# Person names that stay: none of the table's; listed here so that a name a later edition of
# the profile keeps can be added where it is decided.
KEPT_NAMES: frozenset[str] = frozenset()

# PS3.16 CID 7050 codes (scheme DCM) for what was done, and the free-text method.
METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113106", "Retain Longitudinal Temporal Information Full Dates Option"),
    ("113108", "Retain Patient Characteristics Option"),
)
METHOD = "PS3.15 basic profile; dates and patient characteristics kept"

_DUMMY_VALUES = {"PN": "ANONYMOUS", "DA": "19000101", "TM": "000000", "DT": "19000101000000"}


def registered_uid(value: str) -> bool:
    """A UID DICOM itself defines (SOP classes, transfer syntaxes, coding schemes): never
    replaced, since it names a kind of thing and not an instance."""
    return value in UID_dictionary or value.startswith("1.2.840.10008.")


class Replacements(Protocol):
    """What the profile needs from the pseudonym source: replacement UIDs and the patient's
    pseudonymous ID and name."""

    @property
    def patient_id(self) -> str: ...

    @property
    def patient_name(self) -> str: ...

    def uid(self, original: str) -> str: ...


def _dummy(element: DataElement) -> object:
    if element.VR == "SQ":
        return Sequence([Dataset()])
    return _DUMMY_VALUES.get(
        element.VR, "ANONYMIZED" if element.VR in ("LO", "SH", "LT", "ST", "UT", "UC") else None
    )


def _replace_uids(element: DataElement, uid: Callable[[str], str]) -> None:
    if element.value is None or element.value == "":
        return
    values = element.value if element.VM > 1 else [element.value]
    replaced = [str(v) if registered_uid(str(v)) else uid(str(v)) for v in values if str(v)]
    element.value = replaced if element.VM > 1 else replaced[0]


def _clean(dataset: Dataset, replacements: Replacements, top: bool) -> None:
    for tag in list(dataset.keys()):
        element = dataset[tag]
        group = tag.group
        if tag.is_private or tag.element == 0 or (0x5000 <= group <= 0x50FF):
            del dataset[tag]
            continue
        if 0x6000 <= group <= 0x60FF and tag.element in (0x3000, 0x4000):
            del dataset[tag]
            continue
        keyword = element.keyword
        action = ACTIONS.get(keyword)
        if top and keyword == "PatientID":
            element.value = replacements.patient_id
        elif top and keyword == "PatientName":
            element.value = replacements.patient_name
        elif action == REMOVE:
            del dataset[tag]
        elif action == EMPTY:
            element.value = Sequence() if element.VR == "SQ" else ""
        elif action == DUMMY:
            element.value = _dummy(element)
        elif element.VR == "UI":
            _replace_uids(element, replacements.uid)
        elif element.VR == "PN" and keyword not in KEPT_NAMES:
            element.value = ""
        elif element.VR == "SQ":
            for item in element.value:
                _clean(item, replacements, top=False)


def clean(dataset: Dataset, replacements: Replacements) -> Dataset:
    """Apply the attribute actions to part of an object (elements after the pixel data),
    without marking it: the marks belong in the header."""
    _clean(dataset, replacements, top=False)
    return dataset


def clean_identifier(dataset: Dataset, replacements: Replacements) -> Dataset:
    """Apply the attribute actions to a query answer (QIDO-RS), patient ID and name
    included; an answer carries only what was asked, so nothing is added."""
    _clean(dataset, replacements, top=True)
    return dataset


def deidentify(dataset: Dataset, replacements: Replacements) -> Dataset:
    """Apply the profile to ``dataset`` in place (its file meta too, when it has one) and
    say so in the data set; return it."""
    _clean(dataset, replacements, top=True)
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = METHOD
    codes = []
    for value, meaning in METHOD_CODES:
        code = Dataset()
        code.CodeValue = value
        code.CodingSchemeDesignator = "DCM"
        code.CodeMeaning = meaning
        codes.append(code)
    dataset.DeidentificationMethodCodeSequence = Sequence(codes)
    dataset.LongitudinalTemporalInformationModified = "UNMODIFIED"
    if "PatientID" not in dataset:
        dataset.PatientID = replacements.patient_id
    if "PatientName" not in dataset:
        dataset.PatientName = replacements.patient_name
    meta = getattr(dataset, "file_meta", None)
    if meta is not None:
        for keyword in (
            "SourceApplicationEntityTitle",
            "PrivateInformation",
            "PrivateInformationCreatorUID",
            "SendingApplicationEntityTitle",
            "ReceivingApplicationEntityTitle",
            "SourcePresentationAddress",
            "SendingPresentationAddress",
            "ReceivingPresentationAddress",
        ):
            if keyword in meta:
                delattr(meta, keyword)
        if "MediaStorageSOPInstanceUID" in meta and "SOPInstanceUID" in dataset:
            meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    return dataset
