Feature: Registration
  In order to have an account of my own
  As a visitor
  I want to register with my email address and a password

  Scenario: A visitor registers with a valid email and password
    When Ada registers with a fresh email and a good password
    Then her account is created

  Scenario: An email address can be registered only once
    Given Ada has registered
    When someone registers with her email address
    Then the registration is refused because the email is taken

  Scenario Outline: The same address spelled differently is still taken
    Given Ada has registered
    When someone registers with her email address written <spelling>
    Then the registration is refused because the email is taken

    Examples: Case and surrounding whitespace
      | spelling                   |
      | in upper case              |
      | in mixed case              |
      | with surrounding spaces    |
      | in upper case between tabs |

  Scenario Outline: An invalid email address is refused
    When Ada registers with the email address "<email>"
    Then the registration is refused as invalid, naming the email
    And the refusal does not reveal her password

    Examples: Not an address
      | email              |
      | ada                |
      | ada@               |
      | @example.com       |
      | ada@@example.com   |
      | ada example@ex.com |
      | ada@example..com   |
      | ada@.example.com   |

    Examples: Too short to be an address
      | email |
      |       |
      | a@    |

  Scenario Outline: A password of the wrong length is refused
    When Ada registers with a password of <length> characters
    Then the registration is refused as invalid, naming the password
    And the refusal does not reveal her password

    Examples: Too short
      | length |
      | 1      |
      | 7      |

    Examples: Too long
      | length |
      | 129    |
      | 1000   |

  Scenario Outline: A guessable password is refused
    When Ada registers with the password "<password>"
    Then the registration is refused as invalid, naming the password
    And the refusal does not reveal her password

    Examples: Breached
      | password  |
      | qwerty123 |
      | iloveyou1 |
      | trustno1  |

    Examples: The name of the service
      | password |
      | auth-api |
      | AUTH-API |

  Scenario Outline: A password made from her own email address is refused
    When Ada registers with <part> as her password
    Then the registration is refused as invalid, naming the password
    And the refusal does not reveal her password

    Examples: Parts of her address
      | part                               |
      | her email address                  |
      | the name part of her email address |
