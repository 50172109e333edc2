"""Name pools per culture: common given names (female, male) and family names.

Plain data, chosen from public lists of common names in each country. ``order`` says how
the culture writes a full name; ``style`` says how family names are built (Filipino
middle name = mother's maiden name; Hispanic paternal + maternal surname).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Culture:
    key: str
    country: str  # where family members of this culture usually live
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    style: str = "western"  # western | filipino | hispanic | surname_first


def _t(text: str) -> tuple[str, ...]:
    return tuple(text.split())


CULTURES: dict[str, Culture] = {
    c.key: c
    for c in (
        Culture(
            "anglo",
            "AU",
            _t(
                "Mary Patricia Jennifer Linda Elizabeth Susan Jessica Sarah Karen Lisa Nancy "
                "Sandra Ashley Emily Donna Michelle Carol Amanda Melissa Deborah Rebecca Sharon "
                "Laura Emma Olivia Charlotte Sophie Chloe Hannah Grace Ruby Kate Julie Helen"
            ),
            _t(
                "James Robert John Michael David William Richard Joseph Thomas Charles "
                "Christopher Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth "
                "Kevin Brian George Timothy Ronald Edward Jason Jeffrey Gary Peter Graham Trevor "
                "Wayne Craig Darren Stuart Neil Ian Colin Barry Keith Geoffrey Bruce"
            ),
            _t(
                "Smith Jones Williams Brown Wilson Taylor Johnson White Martin Anderson Thompson "
                "Nguyen Thomas Walker Harris Lee Ryan Robinson Kelly King Davis Wright Evans "
                "Roberts Green Hall Wood Jackson Clarke Campbell Mitchell Young Hughes Edwards "
                "Cooper Murphy Baker Turner Collins Stewart Morris Cook Bell Ward Watson Morgan "
                "Scott Price Bennett Gray Fisher Marshall Hunt Reid Kennedy Sullivan McDonald "
                "O'Brien O'Connor MacKenzie Fitzgerald Henderson Porter"
            ),
        ),
        Culture(
            "filipino",
            "PH",
            _t(
                "Maria Ana Kristine Jasmine Angelica Mary Joy Rose Lorna Maricel Rowena Jocelyn "
                "Marites Liza Divina Analyn Cherry Rosalie Lovely Princess Precious Jenny Aileen "
                "Rachelle Mylene Josephine Cristina Erlinda Gloria Teresita Nenita Luzviminda"
            ),
            _t(
                "Jose Juan Mark John Michael Jerome Rodrigo Ramon Antonio Roberto Eduardo "
                "Danilo Rolando Ferdinand Renato Arnel Jun Reynaldo Romeo Ernesto Rogelio "
                "Benjamin Carlo Paolo Angelo Christian Joshua Jericho Manuel Emmanuel"
            ),
            _t(
                "Santos Reyes Cruz Bautista Ocampo Garcia Mendoza Torres Tomas Andrada Castillo "
                "Flores Villanueva Ramos Castro Rivera Aquino Navarro Salazar Mercado Aguilar "
                "Domingo Soriano Manalo Pascual Dizon Gonzales Lopez Fernandez Tolentino "
                "Macaraeg Dimaculangan Magbanua Panganiban Evangelista Sison Bernardo Valdez "
                "dela_Cruz de_los_Santos dela_Rosa del_Rosario de_Guzman de_Leon de_Vera"
            ),
            "filipino",
        ),
        Culture(
            "thai",
            "TH",
            _t(
                "Wannee Siriporn Malee Kanya Pranee Suda Nittaya Wanida Ratana Jintana "
                "Kanokwan Arunee Pimchanok Nattaya Sasithorn Porntip Chutima Duangjai Anong "
                "Orathai Ploy Kulap Rattana Supaporn Thida"
            ),
            _t(
                "Somchai Somsak Prasert Sombat Wichai Surachai Anan Chaiwat Kittisak Nattapong "
                "Thanakorn Pongsak Sakchai Suriya Weerasak Worawut Teerapat Apichat Boonsong "
                "Chatchai Decha Ekkachai Jirayu Kasem"
            ),
            _t(
                "Srisuk Boonmee Wongsawat Chaiyaporn Saetang Rattanakorn Phromsuwan Suksawat "
                "Thongdee Kaewmanee Sukhon Phongphan Chantharasuk Jaidee Boonyarat Sangthong "
                "Inthavong Ruangrit Khamphan Phetsuk Thammasak Srisawat Kongkaew Panyasiri"
            ),
            "surname_first_optional",
        ),
        Culture(
            "colombian",
            "CO",
            _t(
                "María Luz Ana Carolina Daniela Valentina Paola Andrea Natalia Juliana "
                "Alejandra Diana Marcela Sandra Yuliana Leidy Tatiana Catalina Lorena Adriana "
                "Mónica Viviana Yesenia Gloria Claudia"
            ),
            _t(
                "José Juan Carlos Andrés Luis Jorge Jhon Diego Camilo Sebastián Felipe Alejandro "
                "Fernando Óscar Hernán Jairo Wilson Fabián Julián Mauricio"
            ),
            _t(
                "García Rodríguez Martínez López González Hernández Sánchez Ramírez Pérez Gómez "
                "Díaz Muñoz Rojas Moreno Jiménez Vargas Castro Gutiérrez Ortiz Álvarez Ruiz "
                "Ospina Restrepo Cardona Zapata Quintero Valencia Londoño Betancur Arango"
            ),
            "hispanic",
        ),
        Culture(
            "mexican",
            "MX",
            _t(
                "María Guadalupe Juana Margarita Verónica Leticia Rosa Francisca Teresa "
                "Alejandra Patricia Gabriela Fernanda Ximena Itzel Araceli Yolanda Elena"
            ),
            _t(
                "José Juan Miguel Francisco Jesús Antonio Alejandro Pedro Manuel Ricardo "
                "Arturo Eduardo Roberto Javier Fernando Raúl Sergio Héctor Rodrigo Armando"
            ),
            _t(
                "Hernández García Martínez López González Rodríguez Pérez Sánchez Ramírez Cruz "
                "Flores Gómez Morales Vázquez Reyes Jiménez Torres Díaz Gutiérrez Ruiz Mendoza "
                "Aguilar Ortiz Moreno Castillo Romero Álvarez Chávez Rivera Juárez"
            ),
            "hispanic",
        ),
        Culture(
            "dominican",
            "DO",
            _t(
                "María Yokasta Yesenia Altagracia Rosa Carmen Ana Yudelka Marisol Yaniris "
                "Esmeralda Juana Mercedes Dilenia Francisca Luz Milagros Yeimi"
            ),
            _t(
                "José Juan Luis Rafael Ramón Francisco Manuel Pedro Carlos Miguel Ángel "
                "Wander Yunior Starlin Radhamés Frankelly Joel Julio"
            ),
            _t(
                "Rodríguez Pérez Martínez García Sánchez Ramírez Reyes Díaz Hernández Jiménez "
                "Peña Santana Almonte Mejía Guzmán Batista De_la_Cruz Polanco Rosario Féliz "
                "Encarnación Ventura Tejada Abreu"
            ),
            "hispanic",
        ),
        Culture(
            "indian",
            "IN",
            _t(
                "Priya Anjali Sunita Pooja Kavita Neha Deepa Lakshmi Meena Anita Divya Shreya "
                "Rekha Asha Geeta Savita"
            ),
            _t(
                "Rahul Amit Rajesh Suresh Sanjay Vijay Ramesh Arun Anil Deepak Manoj Ravi Kiran "
                "Arjun Vikram Ashok"
            ),
            _t(
                "Sharma Patel Singh Kumar Gupta Reddy Nair Iyer Rao Shah Mehta Joshi Verma "
                "Desai Pillai Menon Chopra Malhotra Bhat Das"
            ),
        ),
        Culture(
            "vietnamese",
            "VN",
            _t("Lan Hoa Mai Linh Huong Thao Trang Ngoc Thu Phuong Hanh Yen"),
            _t("Minh Hung Tuan Dung Hai Long Nam Thanh Duc Quang Son Phuc"),
            _t("Nguyen Tran Le Pham Hoang Phan Vu Dang Bui Do Ho Ngo Duong Ly"),
            "surname_first_optional",
        ),
        Culture(
            "chinese",
            "CN",
            _t("Li Na Fang Min Jing Ying Xiu Hui Yan Lei Mei Xin"),
            _t("Wei Qiang Jun Yong Jie Tao Ming Chao Hao Bo Gang Peng"),
            _t("Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin He"),
            "surname_first_optional",
        ),
        Culture(
            "german",
            "DE",
            _t(
                "Anna Julia Katharina Laura Sabine Petra Claudia Stefanie Monika Ursula Andrea "
                "Birgit Lena Lea Hannah"
            ),
            _t(
                "Thomas Michael Andreas Stefan Frank Jürgen Klaus Wolfgang Peter Uwe Markus "
                "Bernd Dieter Jörg Matthias Rainer Hans Günter"
            ),
            _t(
                "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann "
                "Schäfer Koch Bauer Richter Klein Wolf Schröder Neumann Zimmermann Braun"
            ),
        ),
        Culture(
            "french",
            "FR",
            _t("Marie Nathalie Isabelle Sylvie Catherine Sophie Céline Camille Léa Chloé Manon"),
            _t(
                "Jean Pierre Michel Philippe Alain Patrick Nicolas Christophe Laurent Éric "
                "Frédéric Olivier Thierry Pascal"
            ),
            _t(
                "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon "
                "Laurent Lefebvre Michel Garcia David Bertrand Roux Fournier Girard"
            ),
        ),
        Culture(
            "dutch",
            "NL",
            _t("Anna Emma Sanne Lotte Eva Femke Marieke Ingrid Anouk Esther"),
            _t("Jan Pieter Kees Hans Willem Dirk Joost Bas Sander Ruud Henk Gerrit"),
            _t(
                "de_Jong Jansen de_Vries van_den_Berg van_Dijk Bakker Janssen Visser Smit "
                "Meijer de_Boer Mulder de_Groot Bos Vos Peters Hendriks van_Leeuwen"
            ),
        ),
        Culture(
            "spanish",
            "ES",
            _t("María Carmen Ana Isabel Laura Cristina Marta Lucía Elena Pilar"),
            _t("Antonio Manuel José Francisco David Javier Daniel Carlos Miguel Rafael Pedro"),
            _t(
                "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín "
                "Jiménez Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero"
            ),
            "hispanic",
        ),
        Culture(
            "italian",
            "IT",
            _t("Giulia Francesca Chiara Sara Valentina Alessandra Federica Elena Paola Anna"),
            _t("Giuseppe Giovanni Antonio Mario Luigi Francesco Marco Andrea Paolo Stefano"),
            _t(
                "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno "
                "Gallo Conti De_Luca Mancini Costa Giordano Rizzo Lombardi Moretti"
            ),
        ),
        Culture(
            "indonesian",
            "ID",
            _t(
                "Siti Dewi Sri Putri Ayu Wulan Rina Fitri Indah Nur Lestari Ratna Wati Yuni "
                "Ani Dian Eka Kartika Maya Novi"
            ),
            _t(
                "Budi Agus Andi Joko Bambang Hendra Rizki Dedi Eko Arief Wahyu Yusuf Adi Bayu "
                "Fajar Hadi Irfan Rudi"
            ),
            _t(
                "Santoso Wijaya Saputra Hidayat Kusuma Pratama Setiawan Nugroho Gunawan Halim "
                "Susanto Rahman Siregar Simanjuntak Sihombing Nasution Lubis Harahap Wibowo "
                "Purnomo"
            ),
        ),
        Culture(
            "west_african",
            "NG",
            _t("Chioma Ngozi Amaka Funmilayo Aisha Blessing Esther Grace Adaeze Abena Akosua"),
            _t("Chinedu Emeka Oluwaseun Tunde Ibrahim Kwame Kofi Samuel Daniel Uche Yaw"),
            _t(
                "Okafor Adeyemi Okonkwo Balogun Eze Ibrahim Mensah Owusu Boateng Nwosu Adebayo "
                "Asante Ogunleye Chukwu"
            ),
        ),
    )
}
