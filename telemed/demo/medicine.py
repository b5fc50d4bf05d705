"""Specialties and diseases (ICD-10) of the demo network, and which departments each tier
runs."""

from __future__ import annotations

# (code, name, English). The code is what departments, pools and searches refer to.
SPECIALTIES: tuple[tuple[str, str, str], ...] = (
    ("cardiology", "心血管内科", "Cardiology"),
    ("neurology", "神经内科", "Neurology"),
    ("respiratory", "呼吸与危重症医学科", "Respiratory and Critical Care Medicine"),
    ("gastroenterology", "消化内科", "Gastroenterology"),
    ("nephrology", "肾内科", "Nephrology"),
    ("endocrinology", "内分泌科", "Endocrinology"),
    ("oncology", "肿瘤科", "Oncology"),
    ("hematology", "血液内科", "Haematology"),
    ("general-surgery", "普通外科", "General Surgery"),
    ("orthopaedics", "骨科", "Orthopaedics"),
    ("neurosurgery", "神经外科", "Neurosurgery"),
    ("urology", "泌尿外科", "Urology"),
    ("obstetrics-gynaecology", "妇产科", "Obstetrics and Gynaecology"),
    ("paediatrics", "儿科", "Paediatrics"),
    ("radiology", "医学影像科", "Radiology"),
    ("pathology", "病理科", "Pathology"),
    ("electrocardiography", "心电诊断科", "Electrocardiography"),
    ("icu", "重症医学科", "Intensive Care"),
    ("emergency", "急诊科", "Emergency Medicine"),
    ("dermatology", "皮肤科", "Dermatology"),
    ("ophthalmology", "眼科", "Ophthalmology"),
    ("ent", "耳鼻咽喉科", "Otorhinolaryngology (ENT)"),
    ("infectious-disease", "感染性疾病科", "Infectious Diseases"),
    ("general-practice", "全科医学科", "General Practice"),
    ("tcm", "中医科", "Traditional Chinese Medicine"),
)

# Specialties in which the province centre keeps bookable experts: every clinical one.
PROVINCE_EXPERT_SPECIALTIES = tuple(
    code for code, _n, _e in SPECIALTIES if code not in {"general-practice", "tcm"}
)

# The departments a city sub-centre staffs with its own experts.
CITY_EXPERT_SPECIALTIES = (
    "cardiology",
    "neurology",
    "respiratory",
    "gastroenterology",
    "endocrinology",
    "oncology",
    "general-surgery",
    "orthopaedics",
    "obstetrics-gynaecology",
    "paediatrics",
    "radiology",
    "pathology",
    "electrocardiography",
)

COUNTY_DEPARTMENTS = (
    "cardiology",
    "respiratory",
    "general-surgery",
    "orthopaedics",
    "obstetrics-gynaecology",
    "paediatrics",
    "radiology",
    "electrocardiography",
    "emergency",
)
COUNTY_TCM_DEPARTMENTS = ("tcm", "cardiology", "orthopaedics", "radiology", "electrocardiography")
TOWNSHIP_DEPARTMENTS = ("general-practice",)

# The specialty whose experts read each pooled service.
SERVICE_SPECIALTY = {
    "ecg": "electrocardiography",
    "imaging": "radiology",
    "pathology": "pathology",
}

# (ICD-10, name, English, specialty code)
DISEASES: tuple[tuple[str, str, str, str], ...] = (
    ("I10", "原发性高血压", "Essential hypertension", "cardiology"),
    ("I20.0", "不稳定型心绞痛", "Unstable angina", "cardiology"),
    ("I21.9", "急性心肌梗死", "Acute myocardial infarction", "cardiology"),
    ("I48", "心房颤动和心房扑动", "Atrial fibrillation and flutter", "cardiology"),
    ("I50.9", "心力衰竭", "Heart failure", "cardiology"),
    ("I42.0", "扩张型心肌病", "Dilated cardiomyopathy", "cardiology"),
    ("I44.2", "三度房室传导阻滞", "Complete atrioventricular block", "electrocardiography"),
    ("I47.1", "室上性心动过速", "Supraventricular tachycardia", "electrocardiography"),
    ("I49.3", "室性期前收缩", "Ventricular premature depolarisation", "electrocardiography"),
    ("I45.6", "预激综合征", "Pre-excitation syndrome", "electrocardiography"),
    ("I63.9", "脑梗死", "Cerebral infarction", "neurology"),
    ("G40.9", "癫痫", "Epilepsy", "neurology"),
    ("G20", "帕金森病", "Parkinson's disease", "neurology"),
    ("G30.9", "阿尔茨海默病", "Alzheimer's disease", "neurology"),
    ("G43.9", "偏头痛", "Migraine", "neurology"),
    ("I61.9", "脑出血", "Intracerebral haemorrhage", "neurosurgery"),
    ("S06.5", "创伤性硬膜下出血", "Traumatic subdural haemorrhage", "neurosurgery"),
    ("D32.9", "脑膜瘤", "Meningioma", "neurosurgery"),
    ("J44.1", "慢性阻塞性肺疾病急性加重", "COPD with acute exacerbation", "respiratory"),
    ("J18.9", "肺炎", "Pneumonia", "respiratory"),
    ("J45.9", "支气管哮喘", "Asthma", "respiratory"),
    ("J84.1", "特发性肺纤维化", "Interstitial pulmonary fibrosis", "respiratory"),
    ("I26.9", "肺栓塞", "Pulmonary embolism", "respiratory"),
    ("K25.9", "胃溃疡", "Gastric ulcer", "gastroenterology"),
    ("K74.6", "肝硬化", "Cirrhosis of liver", "gastroenterology"),
    ("K85.9", "急性胰腺炎", "Acute pancreatitis", "gastroenterology"),
    ("K51.9", "溃疡性结肠炎", "Ulcerative colitis", "gastroenterology"),
    ("K92.2", "消化道出血", "Gastrointestinal haemorrhage", "gastroenterology"),
    ("N18.5", "慢性肾脏病5期", "Chronic kidney disease, stage 5", "nephrology"),
    ("N04.9", "肾病综合征", "Nephrotic syndrome", "nephrology"),
    ("N17.9", "急性肾衰竭", "Acute renal failure", "nephrology"),
    ("E11.9", "2型糖尿病", "Type 2 diabetes mellitus", "endocrinology"),
    ("E10.9", "1型糖尿病", "Type 1 diabetes mellitus", "endocrinology"),
    ("E05.0", "毒性弥漫性甲状腺肿", "Graves' disease", "endocrinology"),
    ("E03.9", "甲状腺功能减退症", "Hypothyroidism", "endocrinology"),
    ("C34.9", "肺癌", "Lung cancer", "oncology"),
    ("C16.9", "胃癌", "Stomach cancer", "oncology"),
    ("C15.9", "食管癌", "Oesophageal cancer", "oncology"),
    ("C22.0", "肝细胞癌", "Hepatocellular carcinoma", "oncology"),
    ("C18.9", "结肠癌", "Colon cancer", "oncology"),
    ("D61.9", "再生障碍性贫血", "Aplastic anaemia", "hematology"),
    ("C92.0", "急性髓系白血病", "Acute myeloid leukaemia", "hematology"),
    ("C90.0", "多发性骨髓瘤", "Multiple myeloma", "hematology"),
    ("D50.9", "缺铁性贫血", "Iron deficiency anaemia", "hematology"),
    ("K35.8", "急性阑尾炎", "Acute appendicitis", "general-surgery"),
    ("K80.2", "胆囊结石", "Gallstones without cholecystitis", "general-surgery"),
    ("K40.9", "腹股沟疝", "Inguinal hernia", "general-surgery"),
    ("K56.7", "肠梗阻", "Intestinal obstruction", "general-surgery"),
    ("C50.9", "乳腺癌", "Breast cancer", "general-surgery"),
    ("S72.0", "股骨颈骨折", "Fracture of neck of femur", "orthopaedics"),
    ("M17.9", "膝骨关节炎", "Osteoarthritis of knee", "orthopaedics"),
    ("M51.2", "腰椎间盘突出症", "Lumbar disc herniation", "orthopaedics"),
    ("M81.9", "骨质疏松症", "Osteoporosis", "orthopaedics"),
    ("N20.0", "肾结石", "Kidney stone", "urology"),
    ("N40", "前列腺增生", "Benign prostatic hyperplasia", "urology"),
    ("C67.9", "膀胱癌", "Bladder cancer", "urology"),
    ("O14.1", "重度子痫前期", "Severe pre-eclampsia", "obstetrics-gynaecology"),
    ("O24.4", "妊娠期糖尿病", "Gestational diabetes mellitus", "obstetrics-gynaecology"),
    ("C53.9", "宫颈癌", "Cervical cancer", "obstetrics-gynaecology"),
    ("D25.9", "子宫肌瘤", "Uterine leiomyoma", "obstetrics-gynaecology"),
    ("J21.9", "毛细支气管炎", "Acute bronchiolitis", "paediatrics"),
    ("B08.4", "手足口病", "Hand, foot and mouth disease", "paediatrics"),
    ("Q21.0", "室间隔缺损", "Ventricular septal defect", "paediatrics"),
    ("P07.3", "早产儿", "Preterm infant", "paediatrics"),
    ("R91", "肺部影像学异常（肺结节）", "Abnormal lung imaging (pulmonary nodule)", "radiology"),
    ("R93.2", "肝胆影像学异常（肝占位）", "Abnormal liver imaging (focal lesion)", "radiology"),
    ("C80.9", "恶性肿瘤（原发部位不明）", "Malignant neoplasm, primary site unknown", "pathology"),
    ("D48.9", "交界性肿瘤", "Neoplasm of uncertain behaviour", "pathology"),
    ("A41.9", "脓毒症", "Sepsis", "icu"),
    ("J80", "急性呼吸窘迫综合征", "Acute respiratory distress syndrome", "icu"),
    ("R57.0", "心源性休克", "Cardiogenic shock", "icu"),
    ("T60.0", "有机磷农药中毒", "Organophosphate poisoning", "emergency"),
    ("T58", "一氧化碳中毒", "Carbon monoxide poisoning", "emergency"),
    ("L40.0", "寻常型银屑病", "Psoriasis vulgaris", "dermatology"),
    ("L20.9", "特应性皮炎", "Atopic dermatitis", "dermatology"),
    ("B02.9", "带状疱疹", "Herpes zoster", "dermatology"),
    ("H25.9", "老年性白内障", "Senile cataract", "ophthalmology"),
    ("H40.9", "青光眼", "Glaucoma", "ophthalmology"),
    ("E11.3", "糖尿病视网膜病变", "Diabetic retinopathy", "ophthalmology"),
    ("J32.9", "慢性鼻窦炎", "Chronic sinusitis", "ent"),
    ("C11.9", "鼻咽癌", "Nasopharyngeal carcinoma", "ent"),
    ("H91.2", "突发性聋", "Sudden sensorineural hearing loss", "ent"),
    ("B18.1", "慢性乙型病毒性肝炎", "Chronic hepatitis B", "infectious-disease"),
    ("B18.2", "慢性丙型病毒性肝炎", "Chronic hepatitis C", "infectious-disease"),
    ("A15.0", "肺结核", "Pulmonary tuberculosis", "infectious-disease"),
)

# Diseases each pooled reading specialty takes besides its own: a radiologist reads the
# strokes and tumours the clinicians send, an ECG reader the infarcts.
READING_DISEASES = {
    "radiology": ("I63.9", "I61.9", "C34.9", "S72.0"),
    "pathology": ("C16.9", "C15.9", "C50.9", "C53.9"),
    "electrocardiography": ("I21.9", "I48"),
}
