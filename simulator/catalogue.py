"""Procedure catalogues (the national TTHC database, per agency).

Each agency gets a fixed list of procedures built from field-specific name templates; the
online level of each procedure is upgraded on dates drawn once, so `as_of` changes what the
catalogue says. Provinces draw from one national pool of provincial procedures (the same
MaTTHC appears in many provinces, as in reality); ministries have their own.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from .registry import Agency

# field -> (handling unit, objects). Names: action + object.
PROVINCE_FIELDS: dict[str, tuple[str, list[str]]] = {
    "Hộ tịch": ("Sở Tư pháp", ["trích lục khai sinh", "trích lục kết hôn", "giấy xác nhận tình trạng hôn nhân", "trích lục khai tử", "trích lục thay đổi hộ tịch"]),
    "Chứng thực": ("Sở Tư pháp", ["bản sao từ bản chính", "chữ ký trong giấy tờ", "hợp đồng, giao dịch", "bản dịch"]),
    "Lý lịch tư pháp": ("Sở Tư pháp", ["phiếu lý lịch tư pháp số 1", "phiếu lý lịch tư pháp số 2"]),
    "Đất đai": ("Sở Nông nghiệp và Môi trường", ["giấy chứng nhận quyền sử dụng đất", "đăng ký biến động đất đai", "giao đất, cho thuê đất", "chuyển mục đích sử dụng đất", "đăng ký thế chấp quyền sử dụng đất"]),
    "Môi trường": ("Sở Nông nghiệp và Môi trường", ["giấy phép môi trường", "đăng ký môi trường", "phê duyệt kết quả thẩm định báo cáo đánh giá tác động môi trường"]),
    "Tài nguyên nước": ("Sở Nông nghiệp và Môi trường", ["giấy phép khai thác nước dưới đất", "giấy phép khai thác nước mặt", "giấy phép xả nước thải vào nguồn nước"]),
    "Hoạt động xây dựng": ("Sở Xây dựng", ["giấy phép xây dựng nhà ở riêng lẻ", "giấy phép xây dựng công trình", "chứng chỉ hành nghề hoạt động xây dựng", "thẩm định báo cáo nghiên cứu khả thi"]),
    "Nhà ở": ("Sở Xây dựng", ["công nhận chủ đầu tư dự án nhà ở", "mua nhà ở xã hội", "thuê nhà ở công vụ"]),
    "Đường bộ": ("Sở Xây dựng", ["giấy phép lái xe", "giấy phép liên vận", "phù hiệu xe kinh doanh vận tải", "giấy phép kinh doanh vận tải bằng xe ô tô", "đăng ký xe máy chuyên dùng"]),
    "Thành lập và hoạt động doanh nghiệp": ("Sở Tài chính", ["đăng ký thành lập doanh nghiệp tư nhân", "đăng ký thành lập công ty TNHH", "đăng ký thay đổi nội dung đăng ký doanh nghiệp", "thông báo tạm ngừng kinh doanh", "giải thể doanh nghiệp"]),
    "Thành lập và hoạt động hộ kinh doanh": ("Sở Tài chính", ["đăng ký thành lập hộ kinh doanh", "đăng ký thay đổi nội dung đăng ký hộ kinh doanh", "chấm dứt hoạt động hộ kinh doanh"]),
    "Đầu tư tại Việt Nam": ("Sở Tài chính", ["giấy chứng nhận đăng ký đầu tư", "điều chỉnh dự án đầu tư", "chấp thuận chủ trương đầu tư"]),
    "Lao động": ("Sở Nội vụ", ["giấy phép lao động cho người nước ngoài", "đăng ký nội quy lao động", "giấy phép cho thuê lại lao động"]),
    "Việc làm": ("Sở Nội vụ", ["trợ cấp thất nghiệp", "hỗ trợ học nghề", "giấy phép hoạt động dịch vụ việc làm"]),
    "Người có công": ("Sở Nội vụ", ["trợ cấp ưu đãi người có công", "giấy chứng nhận thương binh", "hỗ trợ cải thiện nhà ở người có công"]),
    "Bảo trợ xã hội": ("Sở Y tế", ["trợ cấp xã hội hằng tháng", "hỗ trợ chi phí mai táng", "xác định mức độ khuyết tật"]),
    "Giáo dục và Đào tạo": ("Sở Giáo dục và Đào tạo", ["văn bằng, chứng chỉ", "bản sao văn bằng tốt nghiệp", "cho phép trường trung học hoạt động giáo dục", "chuyển trường đối với học sinh"]),
    "Khám bệnh, chữa bệnh": ("Sở Y tế", ["giấy phép hành nghề khám bệnh, chữa bệnh", "giấy phép hoạt động phòng khám", "công bố cơ sở đủ điều kiện tiêm chủng"]),
    "Dược phẩm": ("Sở Y tế", ["chứng chỉ hành nghề dược", "giấy chứng nhận đủ điều kiện kinh doanh dược", "giấy xác nhận nội dung quảng cáo thuốc"]),
    "An toàn thực phẩm": ("Sở Y tế", ["giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", "tiếp nhận bản tự công bố sản phẩm"]),
    "Văn hóa": ("Sở Văn hóa, Thể thao và Du lịch", ["giấy phép tổ chức lễ hội", "giấy phép kinh doanh karaoke", "giấy phép quảng cáo"]),
    "Du lịch": ("Sở Văn hóa, Thể thao và Du lịch", ["thẻ hướng dẫn viên du lịch", "giấy phép kinh doanh dịch vụ lữ hành nội địa", "công nhận hạng cơ sở lưu trú du lịch"]),
    "Lưu thông hàng hóa trong nước": ("Sở Công Thương", ["giấy phép bán lẻ rượu", "giấy phép kinh doanh sản phẩm thuốc lá", "giấy chứng nhận đủ điều kiện cửa hàng bán lẻ xăng dầu"]),
    "Điện": ("Sở Công Thương", ["giấy phép hoạt động điện lực", "thỏa thuận đấu nối lưới điện"]),
    "Trồng trọt": ("Sở Nông nghiệp và Môi trường", ["giấy chứng nhận đủ điều kiện buôn bán phân bón", "công nhận cây đầu dòng"]),
    "Thú y": ("Sở Nông nghiệp và Môi trường", ["giấy chứng nhận kiểm dịch động vật", "chứng chỉ hành nghề thú y"]),
    "Tôn giáo": ("Sở Dân tộc và Tôn giáo", ["đăng ký hoạt động tín ngưỡng", "đăng ký sinh hoạt tôn giáo tập trung"]),
    "Công chức, viên chức": ("Sở Nội vụ", ["thi tuyển công chức", "xét tuyển viên chức", "thăng hạng chức danh nghề nghiệp"]),
    "Báo chí": ("Sở Văn hóa, Thể thao và Du lịch", ["giấy phép xuất bản bản tin", "giấy phép hoạt động in"]),
    "Khoa học và Công nghệ": ("Sở Khoa học và Công nghệ", ["giấy chứng nhận đăng ký hoạt động khoa học và công nghệ", "giấy phép tiến hành công việc bức xạ"]),
}

MINISTRY_FIELDS: dict[str, dict[str, list[str]]] = {
    "Công an": {"Xuất nhập cảnh": ["hộ chiếu phổ thông", "thị thực cho người nước ngoài", "thẻ tạm trú"], "Đăng ký, quản lý con dấu": ["giấy chứng nhận đăng ký mẫu con dấu"], "Cư trú": ["xác nhận thông tin về cư trú", "đăng ký thường trú"], "Căn cước": ["thẻ căn cước", "giấy chứng nhận căn cước"], "Phòng cháy, chữa cháy": ["thẩm duyệt thiết kế về phòng cháy và chữa cháy", "nghiệm thu về phòng cháy và chữa cháy"]},
    "Công Thương": {"Xuất nhập khẩu": ["giấy chứng nhận xuất xứ hàng hóa (C/O)", "giấy phép nhập khẩu tự động", "giấy phép kinh doanh tạm nhập tái xuất"], "Hóa chất": ["giấy phép sản xuất hóa chất hạn chế", "giấy chứng nhận đủ điều kiện sản xuất hóa chất"], "Xúc tiến thương mại": ["xác nhận đăng ký hội chợ, triển lãm thương mại"]},
    "Giáo dục và Đào tạo": {"Văn bằng, chứng chỉ": ["công nhận văn bằng do cơ sở giáo dục nước ngoài cấp", "bản sao văn bằng", "chứng chỉ ngoại ngữ"], "Giáo dục đại học": ["cho phép mở ngành đào tạo", "liên kết đào tạo với nước ngoài", "công nhận trường đại học"], "Du học": ["cử đi học nước ngoài"], "Kiểm định chất lượng giáo dục": ["giấy phép hoạt động kiểm định chất lượng giáo dục", "thẻ kiểm định viên"]},
    "Giao thông vận tải": {"Đăng kiểm": ["giấy chứng nhận thẩm định thiết kế xe cơ giới", "giấy chứng nhận chất lượng kiểu loại xe"], "Hàng hải": ["giấy chứng nhận đăng ký tàu biển", "giấy chứng nhận khả năng chuyên môn thuyền viên"], "Hàng không": ["giấy phép nhân viên hàng không"]},
    "Kế hoạch và Đầu tư": {"Đầu tư ra nước ngoài": ["giấy chứng nhận đăng ký đầu tư ra nước ngoài", "điều chỉnh dự án đầu tư ra nước ngoài"], "Đấu thầu": ["đăng ký tham gia hệ thống mạng đấu thầu quốc gia", "chứng chỉ hành nghề hoạt động đấu thầu"], "Đầu tư tại Việt Nam": ["chấp thuận chủ trương đầu tư của Thủ tướng Chính phủ", "giấy chứng nhận đăng ký đầu tư"], "Hỗ trợ doanh nghiệp nhỏ và vừa": ["xác nhận doanh nghiệp nhỏ và vừa khởi nghiệp sáng tạo"]},
    "Khoa học và Công nghệ": {"Sở hữu trí tuệ": ["văn bằng bảo hộ nhãn hiệu", "bằng độc quyền sáng chế", "đăng ký kiểu dáng công nghiệp"], "Tiêu chuẩn đo lường chất lượng": ["kiểm tra nhà nước về chất lượng hàng hóa nhập khẩu", "chứng nhận hợp chuẩn"], "Viễn thông và Internet": ["giấy phép cung cấp dịch vụ viễn thông", "giấy phép thiết lập mạng xã hội"], "Tần số vô tuyến điện": ["giấy phép sử dụng tần số vô tuyến điện"]},
    "Lao động - Thương binh và Xã hội": {"Quản lý lao động ngoài nước": ["giấy phép hoạt động dịch vụ đưa người lao động đi làm việc ở nước ngoài", "đăng ký hợp đồng nhận lao động thực tập"], "An toàn, vệ sinh lao động": ["giấy chứng nhận đủ điều kiện kiểm định kỹ thuật an toàn lao động", "giấy chứng nhận đủ điều kiện huấn luyện an toàn lao động"], "Giáo dục nghề nghiệp": ["giấy chứng nhận đăng ký hoạt động giáo dục nghề nghiệp", "thành lập trường cao đẳng"], "Người có công": ["giấy chứng nhận thân nhân liệt sĩ", "di chuyển hồ sơ người có công"]},
    "Ngoại giao": {"Lãnh sự": ["hợp pháp hóa lãnh sự giấy tờ", "chứng nhận lãnh sự giấy tờ", "hộ chiếu ngoại giao, hộ chiếu công vụ", "thị thực cho thành viên cơ quan đại diện nước ngoài"], "Quốc tịch": ["xác nhận có quốc tịch Việt Nam", "giấy xác nhận là người gốc Việt Nam"], "Hội nghị, hội thảo quốc tế": ["cho phép tổ chức hội nghị, hội thảo quốc tế"], "Lễ tân nhà nước": ["thẻ miễn thuế cho viên chức ngoại giao"]},
    "Nội vụ": {"Thi đua, khen thưởng": ["tặng Bằng khen của Bộ trưởng", "tặng Huân chương Lao động", "tặng danh hiệu Chiến sĩ thi đua toàn quốc"], "Tổ chức phi chính phủ": ["cho phép thành lập hội có phạm vi toàn quốc", "phê duyệt điều lệ quỹ xã hội", "giấy phép thành lập quỹ"], "Lao động": ["đăng ký hợp đồng cung ứng lao động", "giấy phép hoạt động dịch vụ việc làm"], "Người có công": ["giấy chứng nhận người có công", "xác nhận liệt sĩ"], "Công chức, viên chức": ["thi nâng ngạch công chức", "chứng chỉ bồi dưỡng quản lý nhà nước"]},
    "Nông nghiệp và Môi trường": {"Bảo vệ thực vật": ["giấy chứng nhận kiểm dịch thực vật nhập khẩu", "đăng ký thuốc bảo vệ thực vật"], "Thú y": ["giấy chứng nhận kiểm dịch động vật xuất khẩu"], "Thủy sản": ["giấy phép khai thác thủy sản"], "Môi trường": ["giấy phép môi trường cấp bộ"], "Khí tượng thủy văn": ["giấy phép hoạt động dự báo khí tượng thủy văn"]},
    "Quốc phòng": {"Quân sự": ["xác nhận thời gian công tác trong quân đội", "giấy phép bay", "giải quyết chế độ trợ cấp một lần đối với quân nhân", "giấy chứng nhận bệnh binh"], "Biên phòng": ["giấy phép vào khu vực biên giới", "thẻ đi bờ cho thuyền viên"], "Cơ yếu": ["giấy phép kinh doanh sản phẩm mật mã dân sự", "giấy chứng nhận hợp chuẩn sản phẩm mật mã dân sự"]},
    "Tài chính": {"Thuế": ["đăng ký thuế", "hoàn thuế giá trị gia tăng", "khai thuế thu nhập cá nhân", "miễn, giảm thuế", "xác nhận nghĩa vụ thuế"], "Hải quan": ["thủ tục hải quan đối với hàng hóa xuất khẩu", "thủ tục hải quan đối với hàng hóa nhập khẩu", "xác định trước mã số hàng hóa", "hoàn thuế nhập khẩu"], "Kho bạc nhà nước": ["mở tài khoản tại Kho bạc Nhà nước", "kiểm soát chi ngân sách"], "Chứng khoán": ["chứng chỉ hành nghề chứng khoán", "chào bán chứng khoán ra công chúng"], "Bảo hiểm": ["chứng chỉ đại lý bảo hiểm"], "Đăng ký doanh nghiệp": ["đăng ký doanh nghiệp qua mạng"]},
    "Tài nguyên và Môi trường": {"Khoáng sản": ["giấy phép thăm dò khoáng sản", "giấy phép khai thác khoáng sản"], "Đo đạc và bản đồ": ["giấy phép hoạt động đo đạc và bản đồ"]},
    "Thông tin và Truyền thông": {"Báo chí": ["giấy phép hoạt động báo in", "giấy phép hoạt động báo điện tử"], "Xuất bản": ["giấy phép nhập khẩu xuất bản phẩm"]},
    "Tư pháp": {"Lý lịch tư pháp": ["phiếu lý lịch tư pháp"], "Quốc tịch": ["nhập quốc tịch Việt Nam", "thôi quốc tịch Việt Nam", "trở lại quốc tịch Việt Nam"], "Luật sư": ["chứng chỉ hành nghề luật sư"], "Công chứng": ["bổ nhiệm công chứng viên"], "Đăng ký biện pháp bảo đảm": ["đăng ký biện pháp bảo đảm bằng động sản"]},
    "Văn hóa, Thể thao và Du lịch": {"Di sản văn hóa": ["giấy phép khai quật khảo cổ"], "Du lịch": ["giấy phép kinh doanh dịch vụ lữ hành quốc tế"], "Điện ảnh": ["giấy phép phổ biến phim"]},
    "Xây dựng": {"Hoạt động xây dựng": ["chứng chỉ năng lực hoạt động xây dựng hạng I", "thẩm định thiết kế xây dựng"], "Vật liệu xây dựng": ["công bố hợp quy vật liệu xây dựng"], "Đường bộ": ["giấy phép vận tải quốc tế", "giấy phép lái xe quốc tế"], "Đăng kiểm": ["giấy chứng nhận chất lượng kiểu loại xe"], "Hàng hải": ["giấy chứng nhận đăng ký tàu biển"]},
    "Y tế": {"Dược phẩm": ["giấy đăng ký lưu hành thuốc", "giấy phép nhập khẩu thuốc"], "Trang thiết bị y tế": ["số lưu hành trang thiết bị y tế", "giấy phép nhập khẩu trang thiết bị y tế"], "An toàn thực phẩm": ["đăng ký bản công bố sản phẩm thực phẩm"], "Mỹ phẩm": ["phiếu tiếp nhận công bố mỹ phẩm"]},
    "Ngân hàng": {"Ngoại hối": ["giấy phép kinh doanh vàng miếng", "đăng ký khoản vay nước ngoài", "giấy phép thu, chi ngoại tệ"], "Thành lập và hoạt động ngân hàng": ["giấy phép thành lập tổ chức tín dụng", "chấp thuận mở chi nhánh ngân hàng"], "Thanh toán": ["giấy phép hoạt động cung ứng dịch vụ trung gian thanh toán"], "Phát hành tiền": ["đổi tiền không đủ tiêu chuẩn lưu thông"]},
    "Thanh tra": {"Tiếp công dân, khiếu nại, tố cáo": ["giải quyết khiếu nại lần đầu", "giải quyết khiếu nại lần hai", "giải quyết tố cáo", "tiếp công dân", "xử lý đơn thư"], "Phòng, chống tham nhũng": ["xác minh tài sản, thu nhập", "kê khai tài sản, thu nhập", "công khai bản kê khai tài sản"]},
    "Dân tộc và Tôn giáo": {"Tôn giáo": ["đề nghị công nhận tổ chức tôn giáo", "đăng ký hoạt động tôn giáo", "chấp thuận tổ chức hội nghị tôn giáo", "giấy chứng nhận đăng ký pháp nhân phi thương mại tôn giáo", "thành lập cơ sở đào tạo tôn giáo"], "Công tác dân tộc": ["công nhận người có uy tín", "xác định thôn đặc biệt khó khăn", "hỗ trợ học sinh dân tộc thiểu số"]},
    "Văn phòng Chính phủ": {"Kiểm soát thủ tục hành chính": ["tiếp nhận phản ánh, kiến nghị", "xử lý phản ánh về quy định hành chính", "công bố thủ tục hành chính"], "Cổng Dịch vụ công quốc gia": ["đăng ký tài khoản định danh tổ chức", "giải quyết vướng mắc trong thanh toán trực tuyến", "xác thực hồ sơ trên Cổng Dịch vụ công quốc gia"], "Công báo": ["đăng công báo văn bản quy phạm pháp luật"]},
}

LICENCES = ("giấy phép", "giấy chứng nhận", "chứng chỉ", "thẻ", "hộ chiếu", "phiếu", "văn bằng", "bằng",
            "số lưu hành", "trích lục", "phù hiệu", "giấy xác nhận", "bản sao", "thị thực", "chứng nhận",
            "giấy đăng ký")
LICENCE_ACTIONS = ("Cấp", "Cấp lại", "Cấp đổi", "Điều chỉnh", "Gia hạn")
OTHER_SUFFIXES = ("", " đối với tổ chức", " đối với cá nhân", " trên môi trường điện tử")


def names_for(obj: str, rng: np.random.Generator) -> list[str]:
    """Procedure names for one object: licences get issue/reissue/amend/extend variants."""
    if obj.startswith(LICENCES):
        acts = [a for a in LICENCE_ACTIONS if a != "Gia hạn" or obj.startswith(("giấy phép", "chứng chỉ", "thẻ"))]
        keep = [a for i, a in enumerate(acts) if i == 0 or rng.random() < 0.7]
        out = [f"{a} {obj}" for a in keep]
        out += [f"{n} {who}" for n in out for who in ("đối với tổ chức", "đối với cá nhân") if rng.random() < 0.3]
        return out
    base = obj[0].upper() + obj[1:]
    keep = [sfx for i, sfx in enumerate(OTHER_SUFFIXES) if i == 0 or rng.random() < 0.3]
    return [base + sfx for sfx in keep]
FEES = np.array([10_000, 20_000, 30_000, 50_000, 100_000, 150_000, 200_000, 300_000, 500_000, 1_000_000, 2_000_000])
DAYS = np.array([1, 2, 3, 5, 7, 10, 12, 15, 20])
DAYS_P = np.array([6, 8, 16, 20, 14, 14, 8, 9, 5], dtype=float)
HORIZON_START = date(2015, 1, 1)
ONLINE_START = date(2016, 1, 1)


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    field: str
    unit: str                   # handling unit (DonViXuLy for processing events)
    days: int                   # statutory handling time, working days
    fee: int                    # VND, 0 when none
    eligible_full: bool         # DuDieuKienToanTrinh
    partial_from: date | None   # first day offered online (partially)
    full_from: date | None      # first day offered full-process
    valid_from: date            # first day in the agency's catalogue
    popularity: float           # relative share of the agency's dossiers

    def level(self, as_of: date) -> str:
        if self.full_from is not None and as_of >= self.full_from:
            return "TOAN_TRINH"
        if self.partial_from is not None and as_of >= self.partial_from:
            return "MOT_PHAN"
        return "KHONG"

    def to_dict(self, as_of: date) -> dict:
        return {
            "MaTTHC": self.code,
            "TenTTHC": self.name,
            "LinhVuc": self.field,
            "ThoiHanGiaiQuyet": self.days,
            "CoPhiLePhi": self.fee > 0,
            "MucPhi": self.fee,
            "MucDoDVC": self.level(as_of),
            "DuDieuKienToanTrinh": self.eligible_full,
        }


def _rng(seed: int, *parts: object) -> np.random.Generator:
    h = hashlib.blake2b(repr((seed,) + parts).encode(), digest_size=16).digest()
    return np.random.default_rng(int.from_bytes(h, "little"))


def _date_from(rng: np.random.Generator, start: date, mean_days: float) -> date:
    return start + timedelta(days=int(rng.exponential(mean_days)))


def _make(rng: np.random.Generator, code: str, name: str, field: str, unit: str, ministry: bool) -> Procedure:
    fee = int(rng.choice(FEES)) if rng.random() < (0.45 if ministry else 0.35) else 0
    days = int(rng.choice(DAYS, p=DAYS_P / DAYS_P.sum()))
    eligible = bool(rng.random() < (0.75 if ministry else 0.65))
    # online upgrades: partial offered from a date spread over 2015-2024, full-process later
    partial_from = _date_from(rng, ONLINE_START, 1100 if ministry else 1400)
    if partial_from > date(2027, 12, 31) or rng.random() < 0.05:
        partial_from = None
    full_from = None
    if eligible and partial_from is not None and rng.random() < 0.85:
        full_from = partial_from + timedelta(days=int(rng.exponential(700 if ministry else 1000)))
    return Procedure(code, name, field, unit, days, fee, eligible, partial_from, full_from,
                     HORIZON_START, float(rng.pareto(1.2) + 0.05))


@lru_cache(maxsize=4)
def provincial_pool(seed: int) -> tuple[Procedure, ...]:
    """National pool of procedures applied by provinces (same MaTTHC in every province)."""
    rng = _rng(seed, "provincial-pool")
    out, used = [], set()
    for field, (unit, objects) in PROVINCE_FIELDS.items():
        for obj in objects:
            for name in names_for(obj, rng):
                while True:
                    code = f"1.{int(rng.integers(0, 13000)):06d}"
                    if code not in used:
                        used.add(code)
                        break
                out.append(_make(rng, code, name, field, unit, ministry=False))
    return tuple(out)


@lru_cache(maxsize=256)
def catalogue(seed: int, agency: Agency) -> tuple[Procedure, ...]:
    """The agency's catalogue (all procedures it ever had), in a stable order."""
    rng = _rng(seed, "catalogue", agency.code)
    if agency.level == "TINH":
        pool = provincial_pool(seed)
        k = int(min(len(pool), 120 + 50 * np.sqrt(agency.annual_volume / 50_000)))
        idx = np.sort(rng.choice(len(pool), size=k, replace=False))
        out = []
        for i in idx:
            p = pool[int(i)]
            # the same national procedure goes online on a province's own schedule
            shift = int(rng.normal(0, 200))
            pf = p.partial_from + timedelta(days=shift) if p.partial_from else None
            ff = p.full_from + timedelta(days=shift) if p.full_from else None
            vf = HORIZON_START if rng.random() < 0.9 else date(2019, 1, 1) + timedelta(days=int(rng.integers(0, 2400)))
            out.append(Procedure(p.code, p.name, p.field, p.unit, p.days, p.fee, p.eligible_full,
                                 pf, ff, max(vf, agency.valid_from) if vf > HORIZON_START else vf,
                                 float(rng.pareto(1.1) + 0.02)))
        return tuple(out)
    fields = MINISTRY_FIELDS.get(agency.short_vi, {"Khác": ["xác nhận hồ sơ"]})
    out, used = [], set()
    for field, objects in fields.items():
        for obj in objects:
            for name in names_for(obj, rng):
                while True:
                    code = f"{int(rng.choice([1, 2]))}.{int(rng.integers(0, 13000)):06d}"
                    if code not in used:
                        used.add(code)
                        break
                unit = f"Cục {field} - {agency.name_vi}"
                p = _make(rng, code, name, field, unit, ministry=True)
                if rng.random() < 0.1:
                    p = Procedure(**{**p.__dict__, "valid_from": date(2019, 1, 1) + timedelta(days=int(rng.integers(0, 2400)))})
                out.append(p)
    return tuple(out)


def offered(seed: int, agency: Agency, as_of: date) -> list[Procedure]:
    return [p for p in catalogue(seed, agency) if p.valid_from <= as_of]
